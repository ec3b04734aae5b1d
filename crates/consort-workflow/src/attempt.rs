//! One attempt of a step: the execution, then each collaboration point's
//! validation, under one timeout, with executor panics caught.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Either;

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

/// One attempt as a future. Nothing runs before its first poll (the
/// executor is not called), except that the timeout's clock starts here.
///
/// Built from combinators rather than as an `async fn`: an `async fn` keeps
/// its arguments (the whole context) next to the futures it awaits, and this
/// future is stored once per step in flight, so its size matters.
pub(crate) fn run(
    executor: Arc<dyn StepExecutor>,
    ctx: StepContext,
    timeout: Option<Duration>,
) -> impl Future<Output = AttemptResult> + Send {
    let work = AssertUnwindSafe(execute_and_validate(executor, ctx)).catch_unwind();
    match timeout {
        None => Either::Left(work.map(unwound)),
        Some(limit) => Either::Right(tokio::time::timeout(limit, work).map(move |finished| {
            finished.map_or_else(
                |_| AttemptResult::Failed {
                    error: format!("attempt timed out after {limit:?}"),
                    retryable: true,
                },
                unwound,
            )
        })),
    }
}

/// The attempt's result, or a non-retryable failure if the executor panicked.
fn unwound(finished: Result<AttemptResult, Box<dyn Any + Send>>) -> AttemptResult {
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

async fn execute_and_validate(executor: Arc<dyn StepExecutor>, ctx: StepContext) -> AttemptResult {
    // Validations reuse the context; copy it only when there are some, and
    // boxed, so that steps without validations (most) keep a small future.
    let base = (!ctx.step.collaboration_points.is_empty()).then(|| Box::new(ctx.clone()));
    // Through the trait object: `Arc<dyn StepExecutor>` itself implements the
    // trait, and calling that impl would box a second future per call.
    let outputs = match executor.as_ref().execute(ctx).await {
        StepOutcome::Completed(outputs) => outputs,
        StepOutcome::NeedsHuman { question } => return AttemptResult::NeedsHuman(question),
        StepOutcome::Failed { error, retryable } => {
            return AttemptResult::Failed { error, retryable };
        }
    };
    match base {
        Some(base) => Box::pin(validate(executor.as_ref(), *base, outputs)).await,
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
