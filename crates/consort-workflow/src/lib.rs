//! Durable multi-expert workflows.
//!
//! A [`WorkflowSpec`](consort_protocol::WorkflowSpec) (the MCP coordination
//! spec's workflow JSON) becomes a validated DAG ([`WorkflowGraph`]: cycles,
//! unknown experts and structural problems reported with their JSON path),
//! which renders as Mermaid or DOT ([`render`], [`render_with_states`]) and
//! runs on an [`Engine`]:
//!
//! - independent steps run concurrently up to a limit; each attempt gets a
//!   [`StepContext`] with an idempotency key, its attempt number and its
//!   [`Inputs`]: the outputs of its dependencies and the run parameters,
//!   read in place (a step's inputs are never copied);
//! - collaboration points are validated by the collaborating expert through
//!   the same [`StepExecutor`]; a failed validation retries, escalates to a
//!   human or fails the step as the step says;
//! - retries with exponential backoff and jitter, per-attempt timeouts,
//!   fail-fast or continue-on-failure, cancellation, human-in-the-loop;
//! - every step transition is checkpointed in a
//!   [`StateBackend`](consort_state::StateBackend) in one lease-guarded
//!   batch, so a run left by a dead process resumes elsewhere: completed
//!   steps never run again, the step in flight runs again with its next
//!   attempt number (at-least-once execution, exactly-once recorded
//!   completion).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use consort_protocol::{load_workflow, seeds};
//! use consort_state::MemoryBackend;
//! use consort_workflow::{render, Engine, EngineConfig, RenderFormat, RunState, SimulatedExecutor, WorkflowGraph};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
//! // Validated once; every run of the definition shares it.
//! let graph = WorkflowGraph::build(&spec, None)?;
//! let mermaid = render(&graph, RenderFormat::Mermaid);
//! assert!(mermaid.contains("s4 --> s5"));
//!
//! let backend = Arc::new(MemoryBackend::new("demo")?);
//! let engine = Engine::new(backend, Arc::new(SimulatedExecutor::new()), EngineConfig::default())?;
//! let status = engine.run_to_end(&graph, serde_json::Map::new(), Some("run-1".into())).await?;
//! assert_eq!(status.state, RunState::Completed);
//! assert_eq!(status.percent_complete, 100.0);
//! // Step 2's outputs, as the simulated expert produced them.
//! let outputs = status.step(2).and_then(|s| s.outputs.as_ref()).unwrap();
//! assert!(outputs.contains_key("validated_budget"));
//! // The record outlives the call: any process can ask.
//! assert_eq!(engine.status("run-1").await?.state, RunState::Completed);
//! # Ok(())
//! # }
//! ```
//!
//! State keys are listed in the [`records`] module docs; progress events
//! below.
//!
//! # Progress events
//!
//! With [`EngineConfig::publish_events`] (default on), the engine publishes
//! `workflow:started`, `workflow:step_started`, `workflow:step_completed`,
//! `workflow:step_failed`, `workflow:waiting_for_human`, `workflow:completed`,
//! `workflow:failed` and `workflow:cancelled` [`Event`](consort_protocol::Event)s
//! on the backend's bus. The topic is the event type; the payload is the
//! event's JSON with [`WorkflowProgress`](consort_protocol::WorkflowProgress)
//! data (run id, step, attempt, percent complete). Subscribe to `workflow:*`.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod attempt;
mod config;
mod context;
mod driver;
mod engine;
mod error;
mod events;
mod executor;
mod graph;
mod ownership;
pub mod records;
mod render;
mod simulated;
mod status;
mod validation;

pub use config::{Durability, EngineConfig, FailurePolicy, RetryPolicy};
pub use context::{Inputs, StepContext};
pub use engine::{Engine, RunHandle};
pub use error::{Result, WorkflowError};
pub use executor::{JsonMap, StepExecutor, StepKind, StepOutcome};
pub use graph::{StepInfo, WorkflowGraph};
pub use records::{MAX_RUN_ID_LEN, validate_run_id};
pub use render::{RenderFormat, render, render_with_states};
pub use simulated::{SimulatedExecutor, execution_counter_key};
pub use status::{RunState, RunStatus, StepState, StepStatus};
pub use validation::{Problem, validate};
