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
