//! Experts over MCP: [`McpExecutor`] runs workflow steps by calling each
//! expert's MCP server, as a [`Deployment`] says where each one is.
//!
//! An expert is an MCP server with one consult tool (`consult` unless the
//! deployment names another). docs/mcp.md ("Writing an expert") is the
//! contract: the arguments of every call, `_meta`'s
//! [`consort/idempotency_key`](IDEMPOTENCY_META_KEY), and the answers for an
//! execution, a validation, a question for a human and an error.
//!
//! ```no_run
//! use std::sync::Arc;
//! use consort_mcp::experts::{Deployment, ExpertServer, McpExecutor};
//!
//! # async fn demo() {
//! let deployment = Deployment::new()
//!     .with_expert("finance_accountant", ExpertServer::stdio("finance-expert"))
//!     .with_expert("legal_consultant", ExpertServer::http("http://127.0.0.1:8801/mcp"));
//! let executor = McpExecutor::new(&deployment);
//! for check in executor.check().await {
//!     if let Some(problem) = check.problem {
//!         eprintln!("{}: {problem}", check.expert);
//!     }
//! }
//! // Engine::new(backend, Arc::new(executor), config) runs workflows on it.
//! # }
//! ```

mod circuit;
mod connection;
mod contract;
mod deployment;
mod executor;
mod expand;

pub use circuit::CircuitState;
pub use contract::IDEMPOTENCY_META_KEY;
pub use deployment::{
    CircuitConfig, DEFAULT_CONSULT_TOOL, DEFAULT_MAX_IN_FLIGHT, DEFAULT_TIMEOUT, Deployment,
    ExpertServer, Transport,
};
pub use executor::{ExpertCheck, McpExecutor};
