//! How the application runs one step: the [`StepExecutor`] trait.

use std::sync::Arc;

use async_trait::async_trait;
use consort_protocol::CollaborationPoint;
use serde_json::{Map, Value};

use crate::context::StepContext;

/// JSON object of named values (outputs, inputs).
pub type JsonMap = Map<String, Value>;

/// What a call is for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StepKind {
    /// Run the step as its primary expert.
    Execute,
    /// Have `point.with_expert` check the outputs of this attempt.
    Validate {
        /// Which of the step's collaboration points, from 0.
        position: usize,
        /// The collaboration point being checked.
        point: CollaborationPoint,
        /// What the execution produced.
        outputs: JsonMap,
    },
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StepOutcome {
    /// Done (for a validation: passed) with these outputs (ignored for
    /// validations).
    Completed(JsonMap),
    /// A human must answer `question` before the step can go on; the run
    /// pauses (see [`Engine::answer_human`](crate::Engine::answer_human)).
    NeedsHuman {
        /// What to ask.
        question: String,
    },
    /// The call failed (for a validation: the check failed).
    Failed {
        /// Why.
        error: String,
        /// Whether another attempt may succeed (a retryable failure of a
        /// validation is treated like any failed validation).
        retryable: bool,
    },
}

impl StepOutcome {
    /// A retryable failure.
    pub fn retry(error: impl Into<String>) -> Self {
        Self::Failed {
            error: error.into(),
            retryable: true,
        }
    }

    /// A failure no retry can fix.
    pub fn fail(error: impl Into<String>) -> Self {
        Self::Failed {
            error: error.into(),
            retryable: false,
        }
    }
}

/// The application's way to run a step: call the expert (an MCP server, an
/// LLM, a function). The engine owns ordering, parallelism, retries,
/// timeouts, cancellation and checkpoints.
///
/// Calls of one run are polled by the task that drives the run (no task is
/// spawned per step, which keeps the per-step overhead near a microsecond);
/// an executor doing heavy CPU work should move it to
/// `tokio::task::spawn_blocking`. A call may be dropped mid-way (timeout,
/// cancellation), and may be repeated after a crash: use the idempotency key.
///
/// # Implementing one
///
/// An executor that drafts each declared output, lets the validating expert
/// check that there is something to check, and asks a human for the budget
/// of step 2 (the marketing seed's "Strategy Development"):
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use consort_protocol::{load_workflow, seeds};
/// use consort_state::MemoryBackend;
/// use consort_workflow::{
///     Engine, EngineConfig, JsonMap, RunState, StepContext, StepExecutor, StepKind, StepOutcome,
///     WorkflowGraph,
/// };
///
/// struct Drafts;
///
/// #[async_trait]
/// impl StepExecutor for Drafts {
///     async fn execute(&self, ctx: StepContext) -> StepOutcome {
///         match ctx.kind() {
///             StepKind::Execute => {
///                 let inputs = ctx.inputs();
///                 if ctx.step().number == 2 && inputs.human_answer().is_none() {
///                     return StepOutcome::NeedsHuman {
///                         question: "What is the campaign budget?".into(),
///                     };
///                 }
///                 // A real executor calls `ctx.expert()` here (an MCP server, an
///                 // LLM) with `ctx.idempotency_key()`, so that a call repeated
///                 // after a crash or a timeout is recognised.
///                 let mut outputs = JsonMap::new();
///                 for name in &ctx.step().outputs {
///                     let text = format!("{name} by {}", ctx.expert());
///                     outputs.insert(name.clone(), text.into());
///                 }
///                 if let Some(budget) = inputs.human_answer() {
///                     outputs.insert("validated_budget".into(), budget.clone());
///                 }
///                 StepOutcome::Completed(outputs)
///             }
///             // `ctx.expert()` is the collaboration point's expert here.
///             StepKind::Validate { outputs, .. } if outputs.is_empty() => {
///                 StepOutcome::fail(format!("{} found nothing to check", ctx.expert()))
///             }
///             StepKind::Validate { .. } => StepOutcome::Completed(JsonMap::new()),
///             _ => StepOutcome::fail("a kind of call this executor does not know"),
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let graph = WorkflowGraph::build(&load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?)?;
/// let backend = Arc::new(MemoryBackend::new("drafts")?);
/// let engine = Engine::new(backend, Arc::new(Drafts), EngineConfig::default())?;
///
/// let paused = engine.new_run(&graph).with_run_id("c-1").run_to_end().await?;
/// assert_eq!(paused.state, RunState::WaitingForHuman);
/// let done = engine.answer_human("c-1", 2, serde_json::json!(50_000)).await?;
/// assert_eq!(done.state, RunState::Completed);
/// let step2 = done.step(2).and_then(|s| s.outputs.as_ref()).unwrap();
/// assert_eq!(step2["validated_budget"], 50_000);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait StepExecutor: Send + Sync {
    /// Runs one call described by `ctx`.
    async fn execute(&self, ctx: StepContext) -> StepOutcome;
}

#[async_trait]
impl<T: StepExecutor + ?Sized> StepExecutor for Arc<T> {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        (**self).execute(ctx).await
    }
}
