//! The bare rmcp server the MCP benches measure consort against, shared by
//! `benches/mcp.rs` and `crates/consort-cli/benches/mcp_wire.rs`: one tool
//! that returns its input, and one that returns a fixed answer (the
//! decision `consort_route` gives, to tell the answer's size from consort's
//! own work).

use rmcp::handler::server::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;

#[derive(Clone)]
pub(crate) struct Echo {
    tool_router: ToolRouter<Echo>,
    answer: serde_json::Value,
}

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
pub(crate) struct EchoArgs {
    /// Returned as given.
    request: String,
}

#[rmcp::tool_router]
impl Echo {
    #[rmcp::tool(description = "Return the input.")]
    fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> rmcp::Json<EchoArgs> {
        rmcp::Json(args)
    }

    #[rmcp::tool(description = "Return the fixed answer, whatever the input.")]
    fn answer(&self, Parameters(_): Parameters<EchoArgs>) -> CallToolResult {
        CallToolResult::structured(self.answer.clone())
    }
}

impl Echo {
    /// A server whose `answer` tool returns `answer`.
    pub(crate) fn new(answer: serde_json::Value) -> Self {
        Self {
            tool_router: Self::tool_router(),
            answer,
        }
    }
}

#[rmcp::tool_handler(router = self.tool_router)]
impl rmcp::ServerHandler for Echo {}
