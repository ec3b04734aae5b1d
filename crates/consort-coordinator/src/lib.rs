//! The consort [`Coordinator`]: the spec's coordination server
//! (`MCPCoordinationServer`) as one Rust object.
//!
//! A coordinator is built once over one
//! [`StateBackend`](consort_state::StateBackend) (in memory, or Redis when
//! several processes work together) and composes the other crates:
//!
//! | spec operation | coordinator method | built on |
//! |---|---|---|
//! | `registerExpert` | [`register_expert`](Coordinator::register_expert), [`update_expert`](Coordinator::update_expert), [`deregister_expert`](Coordinator::deregister_expert), [`heartbeat`](Coordinator::heartbeat), [`set_availability`](Coordinator::set_availability) | `consort-registry` |
//! | `getAvailableExperts` | [`available_experts`](Coordinator::available_experts), [`experts`](Coordinator::experts) | `consort-registry` |
//! | `routeToExpert` | [`route`](Coordinator::route) | `consort-router` over the registry's live state |
//! | `resolveExpertConflict` | [`resolve_conflicts`](Coordinator::resolve_conflicts) | `consort-conflict` |
//! | `prioritizeRecommendations` | [`prioritize_recommendations`](Coordinator::prioritize_recommendations) | `consort-conflict` |
//! | `executeWorkflow` | [`add_workflow`](Coordinator::add_workflow), [`start_workflow`](Coordinator::start_workflow), [`execute_workflow`](Coordinator::execute_workflow), [`answer_workflow`](Coordinator::answer_workflow), [`cancel_workflow`](Coordinator::cancel_workflow), [`resume_workflow`](Coordinator::resume_workflow) | `consort-workflow` |
//! | `monitorWorkflowProgress` | [`workflow_status`](Coordinator::workflow_status), [`await_workflow`](Coordinator::await_workflow), [`watch_workflow`](Coordinator::watch_workflow) | `consort-workflow` |
//!
//! Applications, the `consort` command and the MCP server (`consort-mcp`) all
//! go through it. It depends on the crates below it and nothing below depends
//! on it.
//!
//! ```
//! use std::sync::Arc;
//! use consort_coordinator::Coordinator;
//! use consort_protocol::{load_registry, seeds};
//! use consort_router::RouteRequest;
//! use consort_state::MemoryBackend;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let coordinator = Coordinator::builder(Arc::new(MemoryBackend::new("demo")?)).build().await?;
//! for expert in load_registry(seeds::EXPERT_REGISTRY)? {
//!     coordinator.register_expert(&expert).await?;
//! }
//! let decision = coordinator.route(&RouteRequest::new("Review the NDA before we sign")).await?;
//! assert_eq!(decision.primary.as_deref(), Some("legal_consultant"));
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod conflicts;
mod coordinator;
mod corrections;
mod error;
mod experts;
mod follow;
mod live;
mod routing;
mod workflows;

pub use builder::CoordinatorBuilder;
pub use coordinator::Coordinator;
pub use error::{CoordinatorError, Result};
