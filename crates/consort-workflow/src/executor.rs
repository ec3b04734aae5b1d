//! How the application runs one step: the [`StepExecutor`] trait.

use std::sync::Arc;

use async_trait::async_trait;
use consort_protocol::{CollaborationPoint, ExpertId};
use serde_json::{Map, Value};

use crate::graph::StepInfo;

/// JSON object of named values (outputs, inputs).
pub type JsonMap = Map<String, Value>;

/// Everything an executor needs to run one call of a step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StepContext {
    /// The run.
    pub run_id: Arc<str>,
    /// The step's definition.
    pub step: Arc<StepInfo>,
    /// Attempt number, 1 for the first. Grows across retries, resumes after a
    /// crash and answers from a human.
    pub attempt: u32,
    /// Stable across attempts: `{run_id}:{step}` for the execution,
    /// `{run_id}:{step}:check:{i}` for the `i`-th collaboration point's
    /// validation. Deduplicate side effects on `(idempotency_key, attempt)` or
    /// on the key alone.
    pub idempotency_key: String,
    /// The outputs of each dependency under `"step_{n}"`, the run's
    /// parameters under `"params"`, and after a human answered this step, the
    /// answer under `"human_answer"` (and the question under `"human_question"`).
    pub inputs: JsonMap,
    /// The step's helping experts (`"all"` expanded).
    pub collaborators: Vec<ExpertId>,
    /// Whether this call executes the step or validates its outputs.
    pub kind: StepKind,
}

impl StepContext {
    /// The expert to call: the primary expert for an execution, the
    /// collaboration point's expert for a validation.
    pub fn expert(&self) -> &str {
        match &self.kind {
            StepKind::Execute => &self.step.primary_expert,
            StepKind::Validate { point, .. } => &point.with_expert,
        }
    }
}

/// What a call is for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StepKind {
    /// Run the step as its primary expert.
    Execute,
    /// Have `point.with_expert` check the outputs of this attempt.
    Validate {
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
