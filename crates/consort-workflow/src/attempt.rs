//! One attempt of a step: the execution, then each collaboration point's
//! validation, under one timeout, with executor panics caught.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;

use crate::executor::{JsonMap, StepContext, StepExecutor, StepKind, StepOutcome};

/// How an attempt ended, as the driver sees it.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    Completed(JsonMap),
    NeedsHuman(String),
    Failed {
        error: String,
        retryable: bool,
    },
    /// A collaboration point's validation failed; the step's
    /// `on_validation_failure` decides what follows.
    ValidationFailed(String),
}

pub(crate) async fn run(
    executor: Arc<dyn StepExecutor>,
    ctx: StepContext,
    timeout: Option<Duration>,
) -> AttemptResult {
    let work = AssertUnwindSafe(execute_and_validate(executor.as_ref(), ctx)).catch_unwind();
    let finished = match timeout {
        None => work.await,
        Some(limit) => match tokio::time::timeout(limit, work).await {
            Ok(done) => done,
            Err(_) => {
                return AttemptResult::Failed {
                    error: format!("attempt timed out after {limit:?}"),
                    retryable: true,
                };
            }
        },
    };
    finished.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        AttemptResult::Failed {
            error: format!("executor panicked: {message}"),
            retryable: false,
        }
    })
}

async fn execute_and_validate(executor: &dyn StepExecutor, ctx: StepContext) -> AttemptResult {
    // Validations reuse the context; clone it only when there are some.
    let base = (!ctx.step.collaboration_points.is_empty()).then(|| ctx.clone());
    let outputs = match executor.execute(ctx).await {
        StepOutcome::Completed(outputs) => outputs,
        StepOutcome::NeedsHuman { question } => return AttemptResult::NeedsHuman(question),
        StepOutcome::Failed { error, retryable } => {
            return AttemptResult::Failed { error, retryable };
        }
    };
    match base {
        // Boxed so that steps without validations (most) keep a small future.
        Some(base) => Box::pin(validate(executor, base, outputs)).await,
        None => AttemptResult::Completed(outputs),
    }
}

async fn validate(
    executor: &dyn StepExecutor,
    base: StepContext,
    outputs: JsonMap,
) -> AttemptResult {
    for (i, point) in base.step.collaboration_points.iter().enumerate() {
        let what = point.validation_needed.as_deref().unwrap_or("validation");
        let check = StepContext {
            idempotency_key: format!("{}:check:{i}", base.idempotency_key),
            kind: StepKind::Validate {
                point: point.clone(),
                outputs: outputs.clone(),
            },
            ..base.clone()
        };
        match executor.execute(check).await {
            StepOutcome::Completed(_) => {}
            StepOutcome::NeedsHuman { question } => return AttemptResult::NeedsHuman(question),
            StepOutcome::Failed { error, .. } => {
                return AttemptResult::ValidationFailed(format!(
                    "{what} by {} failed: {error}",
                    point.with_expert
                ));
            }
        }
    }
    AttemptResult::Completed(outputs)
}
