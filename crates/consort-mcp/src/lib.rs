//! consort over MCP: the [`Coordinator`](consort_coordinator::Coordinator)'s
//! tools for any MCP client, built on the official Rust SDK, rmcp.
//!
//! | tool (default name) | does |
//! |---|---|
//! | `consort_experts_list`, `consort_expert_register`, `consort_expert_update`, `consort_expert_heartbeat`, `consort_expert_deregister` | the expert registry |
//! | `consort_route` | picks the expert(s) for a request, with the per-signal reasons |
//! | `consort_resolve_conflicts` | reconciles disagreeing recommendations |
//! | `consort_workflow_validate`, `consort_workflow_render`, `consort_workflows_list` | workflow definitions |
//! | `consort_workflow_start`, `consort_workflow_status`, `consort_workflow_answer`, `consort_workflow_cancel`, `consort_workflow_resume` | durable runs |
//! | `consort_ping`, `consort_capabilities` | what this coordinator is |
//!
//! Every tool has an input schema with a description on every field and an
//! `outputSchema`; its arguments are read strictly (an unknown field is an
//! error with the field it most likely means), and every failure is a tool
//! result with `isError` whose message names the JSON path.
//!
//! Two ways to offer them:
//! - **Embedded** in an rmcp server you already have: [`consort_tools`]
//!   returns them as a `ToolRouter<S>` for any host `S` that implements
//!   [`CoordinatorHost`]; add it to your own router with `+`. Choose tools,
//!   their prefix and rate limits with [`ToolsConfig`].
//! - **On their own**: [`ConsortServer`], over stdio or any rmcp transport
//!   (the `http` feature adds streamable HTTP; `consort serve` runs either).
//!
//! ```
//! use std::sync::Arc;
//! use consort_coordinator::Coordinator;
//! use consort_mcp::{ConsortServer, ToolsConfig};
//! use consort_state::MemoryBackend;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let coordinator = Coordinator::builder(Arc::new(MemoryBackend::new("demo")?)).build().await?;
//! let server = ConsortServer::new(coordinator, ToolsConfig::default())?;
//! assert!(server.tools().has_route("consort_route"));
//! // server.serve_stdio().await?;
//! # Ok(()) }
//! ```
//!
//! The other direction, with the `experts` feature: [`experts::McpExecutor`]
//! runs workflow steps by calling each expert's own MCP server (stdio, or
//! streamable HTTP with `experts-http`), as a deployment file says.
//!
//! A run started with `consort_workflow_start` is durable: with a client that
//! supports MCP's tasks extension it is returned as a task that `tasks/get`
//! follows, across server restarts when the backend is Redis; a question for
//! a human makes it `input_required`, answered with `tasks/update`. A client
//! that sends a progress token gets a notification per finished step.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod circuit_record;
mod config;
mod elicitation;
mod error;
#[cfg(feature = "experts")]
#[cfg_attr(docsrs, doc(cfg(feature = "experts")))]
pub mod experts;
#[cfg(feature = "http")]
mod http;
mod progress;
mod rate_limit;
mod server;
mod stdio;
mod tasks;
mod tool_name;
mod tools;

pub use config::{DEFAULT_PREFIX, ToolsConfig};
pub use error::{McpError, Result, ToolError};
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use http::{HttpConfig, serve_http};
pub use rate_limit::RateLimit;
pub use server::ConsortServer;
pub use stdio::stdio;
pub use tasks::{cancel_task, get_task, update_task};
pub use tool_name::ConsortTool;
pub use tools::{CoordinatorHost, consort_tools};
