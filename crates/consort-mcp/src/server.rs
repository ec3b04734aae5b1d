//! [`ConsortServer`]: consort's tools served on their own.

use std::sync::Arc;

use consort_coordinator::Coordinator;
use rmcp::handler::server::ServerHandler;
use rmcp::handler::server::tool::{ToolCallContext, ToolRouter};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, GetTaskParams, GetTaskResult,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    Tool, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

use crate::config::ToolsConfig;
use crate::error::Result;
use crate::tasks;
use crate::tools::{CoordinatorHost, consort_tools};

/// What the server tells clients about itself when they connect.
const INSTRUCTIONS: &str = "consort coordinates specialised experts: find them (experts_list), \
route a request to the best one with the reasons (route), reconcile disagreeing recommendations \
(resolve_conflicts), and run durable collaboration workflows (workflow_start, workflow_status, \
workflow_answer). Tool names carry a prefix, `consort_` by default.";

/// An MCP server offering consort's tools over one [`Coordinator`]: serve it
/// over stdio with [`serve_stdio`](Self::serve_stdio), or over any rmcp
/// transport with `rmcp::ServiceExt::serve`.
///
/// It answers `tasks/get`, `tasks/update` and `tasks/cancel`:
/// `workflow_start` answers a client that supports MCP tasks with a task
/// that is the durable run, and a question for a human is one of the task's
/// input requests.
#[derive(Debug, Clone)]
pub struct ConsortServer {
    coordinator: Coordinator,
    /// Shared: the HTTP transport clones the server for every request of
    /// the stateless protocol, and a router of every tool's definition is
    /// not cheap to copy.
    tools: Arc<ToolRouter<ConsortServer>>,
}

impl ConsortServer {
    /// A server with the tools `config` chooses (tasks on: see
    /// [`ToolsConfig::with_tasks`]).
    pub fn new(coordinator: Coordinator, config: ToolsConfig) -> Result<Self> {
        Ok(Self {
            coordinator,
            tools: Arc::new(consort_tools(config.with_tasks(true))?),
        })
    }

    /// The tools served.
    pub fn tools(&self) -> &ToolRouter<ConsortServer> {
        &self.tools
    }

    /// Serves one client over this process's stdin and stdout until it
    /// disconnects.
    ///
    /// Where they are pipes, as when an MCP client starts this process, they
    /// are set non-blocking and polled by the runtime's own event loop rather
    /// than through tokio's blocking pool, which saves two hand-offs between
    /// threads per call (see [`stdio`](crate::stdio())).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled (`enable_io` or `enable_all`;
    /// `#[tokio::main]` enables both), as Tokio's pipes do.
    pub async fn serve_stdio(self) -> Result<()> {
        use rmcp::ServiceExt as _;
        let running = self
            .serve(crate::stdio())
            .await
            .map_err(|e| crate::McpError::Session(Box::new(e)))?;
        running
            .waiting()
            .await
            .map_err(|e| crate::McpError::Session(Box::new(e)))?;
        Ok(())
    }
}

impl CoordinatorHost for ConsortServer {
    fn coordinator(&self) -> &Coordinator {
        &self.coordinator
    }
}

impl ServerHandler for ConsortServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new("consort", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.tools
            .call(ToolCallContext::new(self, request, context))
            .await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        Box::pin(tasks::get_task(&self.coordinator, request)).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Box::pin(tasks::update_task(&self.coordinator, request)).await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Box::pin(tasks::cancel_task(&self.coordinator, request)).await
    }
}
