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
//! let graph = WorkflowGraph::build(&spec)?;
//! let mermaid = render(&graph, RenderFormat::Mermaid);
//! assert!(mermaid.contains("s4 --> s5"));
//!
//! let backend = Arc::new(MemoryBackend::new("demo")?);
//! let engine = Engine::new(backend, Arc::new(SimulatedExecutor::new()), EngineConfig::default())?;
//! let status = engine.new_run(&graph).with_run_id("run-1").run_to_end().await?;
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
//! # Runs, from any process
//!
//! [`Engine::new_run`] starts a run ([`RunBuilder`]: parameters, id,
//! [`RunSettings`]); [`Engine::resume`] continues a stored one
//! ([`ResumeBuilder`], also how a human's answer is given). Any engine on the
//! same backend can [`status`](Engine::status), [`wait`](Engine::wait) for,
//! [`watch`](Engine::watch) and [`cancel`](Engine::cancel) a run, whichever
//! process drives it.
//!
//! # Tracing
//!
//! Public async operations have `tracing` spans; each step attempt runs in a
//! `step_attempt` span with the fields `run`, `step`, `attempt` and
//! `expert`, inside which the executor's calls are polled. Completions
//! (`debug`), failed attempts (`warn`) and questions for a human (`info`) are
//! events with the run and step.

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
mod run_builder;
mod settings;
mod simulated;
mod stamp;
mod status;
mod stored;
mod validation;
mod watch;

pub use config::EngineConfig;
pub use context::{Inputs, StepContext};
pub use engine::Engine;
pub use error::{Result, WorkflowError};
pub use executor::{JsonMap, StepExecutor, StepKind, StepOutcome};
pub use graph::{StepInfo, WorkflowGraph};
pub use records::{MAX_RUN_ID_LEN, validate_run_id};
pub use render::{RenderFormat, render, render_with_states};
pub use run_builder::{ResumeBuilder, RunBuilder, RunHandle};
pub use settings::{Durability, FailurePolicy, RetryPolicy, RunSettings, SettingsChange};
pub use simulated::SimulatedExecutor;
pub use status::{RunOwner, RunState, RunStatus, StepState, StepStatus};
pub use validation::{Problem, validate, validate_for};
pub use watch::{ProgressKind, RunProgress, RunWatch};
