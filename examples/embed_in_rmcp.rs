//! An rmcp server you already have, with one tool of its own, gains every
//! consort tool in one line, and is served over stdio.
//!
//! ```sh
//! cargo run -p consort-examples --example embed_in_rmcp
//! ```
//!
//! Point an MCP client at that command: it lists `word_count` and the
//! `consort_*` tools, with the seed experts already registered.

use std::sync::Arc;

use consort::coordinator::Coordinator;
use consort::mcp::{CoordinatorHost, ToolsConfig, consort_tools};
use consort::protocol::{load_registry, seeds};
use consort::state::MemoryBackend;
use rmcp::handler::server::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};

/// The host's own server: one tool, and a coordinator for consort's.
struct WordsServer {
    coordinator: Coordinator,
    tool_router: ToolRouter<WordsServer>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Text {
    /// The text whose words to count.
    text: String,
}

#[tool_router]
impl WordsServer {
    fn new(coordinator: Coordinator) -> consort::mcp::Result<Self> {
        Ok(Self {
            coordinator,
            // The one line: the host's tools plus consort's.
            tool_router: Self::tool_router() + consort_tools(ToolsConfig::default())?,
        })
    }

    #[tool(description = "Count the words of a text.")]
    fn word_count(&self, Parameters(Text { text }): Parameters<Text>) -> String {
        text.split_whitespace().count().to_string()
    }
}

impl CoordinatorHost for WordsServer {
    fn coordinator(&self) -> &Coordinator {
        &self.coordinator
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for WordsServer {}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let coordinator = Coordinator::builder(Arc::new(MemoryBackend::new("embedded")?))
        .build()
        .await?;
    for expert in load_registry(seeds::EXPERT_REGISTRY)? {
        coordinator.register_expert(&expert).await?;
    }
    let server = WordsServer::new(coordinator)?;
    server
        .serve((tokio::io::stdin(), tokio::io::stdout()))
        .await?
        .waiting()
        .await?;
    Ok(())
}
