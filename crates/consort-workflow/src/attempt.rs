//! One attempt of a step: the execution, then each collaboration point's
//! validation, under one deadline, with executor panics caught. The driver
//! enforces the deadline (`driver::work::Alarm`): one timer per run rather
//! than one per attempt.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use crate::context::StepContext;
use crate::executor::{JsonMap, StepExecutor, StepKind, StepOutcome};

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

type Call<'e> = Pin<Box<dyn Future<Output = StepOutcome> + Send + 'e>>;

/// One attempt as a future that borrows the executor.
///
/// Written by hand rather than as an `async fn` so that it is `Unpin`: the
/// driver polls it once where it is made, and only an attempt that has to
/// wait is moved into the set of calls in flight. An executor that answers
/// at once (a cache, an in-process function) then costs no task, no timer
/// and no move. The one part that cannot move, the executor's own future,
/// is boxed by the trait already.
///
/// It keeps its deadline but no timer: most attempts end long before it,
/// and a timer of their own would be registered and cancelled for nothing.
pub(crate) struct Attempt<'e> {
    executor: &'e dyn StepExecutor,
    stage: Stage<'e>,
    /// The context again, for the validations: only for steps that have some.
    base: Option<Box<StepContext>>,
    /// The limit and when it is reached, counted from when the attempt was
    /// made; `None` without a limit (or one too far away to reach).
    timeout: Option<(Duration, Instant)>,
    /// `step_attempt{run, step, attempt, expert}`, entered while the
    /// executor's calls are polled so that their own events nest in it;
    /// `None` unless a subscriber wants it (boxed: attempts are moved, and
    /// most runs trace nothing).
    span: Option<Box<tracing::Span>>,
}

enum Stage<'e> {
    Executing(Call<'e>),
    /// Validating the outputs with the collaboration point at `position`.
    Validating {
        position: usize,
        outputs: JsonMap,
        call: Call<'e>,
    },
    /// Ended before it could start (the executor panicked making its future).
    Ended(Option<AttemptResult>),
}

impl<'e> Attempt<'e> {
    /// Makes the executor's future for `ctx` (nothing runs until the first
    /// poll, unless the executor does work before returning its future); the
    /// timeout's clock starts here.
    pub(crate) fn new(
        executor: &'e dyn StepExecutor,
        ctx: StepContext,
        timeout: Option<Duration>,
    ) -> Self {
        // One check when nothing is traced, which is what runs most steps.
        let span = tracing::level_enabled!(tracing::Level::INFO)
            .then(|| {
                tracing::info_span!(
                    "step_attempt",
                    run = %ctx.run_id(),
                    step = ctx.step.number,
                    attempt = ctx.attempt,
                    expert = %ctx.step.primary_expert,
                )
            })
            .filter(|span| !span.is_disabled())
            .map(Box::new);
        let base = (!ctx.step.collaboration_points.is_empty()).then(|| Box::new(ctx.clone()));
        let entered = span.as_deref().map(|span| {
            let entered = span.enter();
            tracing::debug!("step attempt started");
            entered
        });
        let stage = match catch_unwind(AssertUnwindSafe(|| executor.execute(ctx))) {
            Ok(call) => Stage::Executing(call),
            Err(panic) => Stage::Ended(Some(panicked(&*panic))),
        };
        drop(entered);
        Self {
            executor,
            stage,
            base,
            timeout: timeout.and_then(|limit| Some((limit, Instant::now().checked_add(limit)?))),
            span,
        }
    }

    /// Polls the current call; moves to the next validation when one passes.
    #[inline(always)]
    fn advance(&mut self, cx: &mut Context<'_>) -> Poll<AttemptResult> {
        loop {
            let (outcome, position) = match &mut self.stage {
                Stage::Ended(result) => {
                    return Poll::Ready(result.take().unwrap_or_else(|| AttemptResult::Failed {
                        error: "attempt polled after it ended".to_owned(),
                        retryable: false,
                    }));
                }
                Stage::Executing(call) => (std::task::ready!(call.as_mut().poll(cx)), None),
                Stage::Validating { position, call, .. } => {
                    (std::task::ready!(call.as_mut().poll(cx)), Some(*position))
                }
            };
            let next = match (outcome, position) {
                (StepOutcome::NeedsHuman { question }, _) => {
                    return Poll::Ready(AttemptResult::NeedsHuman(question));
                }
                (StepOutcome::Failed { error, retryable }, None) => {
                    return Poll::Ready(AttemptResult::Failed { error, retryable });
                }
                (StepOutcome::Failed { error, .. }, Some(position)) => {
                    return Poll::Ready(AttemptResult::ValidationFailed(
                        self.validation_failure(position, &error),
                    ));
                }
                (StepOutcome::Completed(outputs), None) => (0, outputs),
                (StepOutcome::Completed(_), Some(position)) => {
                    let Stage::Validating { outputs, .. } =
                        std::mem::replace(&mut self.stage, Stage::Ended(None))
                    else {
                        continue;
                    };
                    (position + 1, outputs)
                }
            };
            match self.validation(next.0, next.1) {
                Ok(stage) => self.stage = stage,
                Err(result) => return Poll::Ready(result),
            }
        }
    }

    /// The call validating `outputs` with the collaboration point at
    /// `position`, or the attempt's result when no point is left.
    fn validation(&self, position: usize, outputs: JsonMap) -> Result<Stage<'e>, AttemptResult> {
        let Some((base, point)) = self
            .base
            .as_deref()
            .and_then(|base| Some((base, base.step.collaboration_points.get(position)?)))
        else {
            return Err(AttemptResult::Completed(outputs));
        };
        let check = StepContext {
            kind: StepKind::Validate {
                position,
                point: point.clone(),
                outputs: outputs.clone(),
            },
            ..base.clone()
        };
        let executor = self.executor;
        match catch_unwind(AssertUnwindSafe(|| executor.execute(check))) {
            Ok(call) => Ok(Stage::Validating {
                position,
                outputs,
                call,
            }),
            Err(panic) => Err(panicked(&*panic)),
        }
    }

    fn validation_failure(&self, position: usize, error: &str) -> String {
        let point = self
            .base
            .as_deref()
            .and_then(|base| base.step.collaboration_points.get(position));
        let what = point
            .and_then(|p| p.validation_needed.as_deref())
            .unwrap_or("validation");
        let who = point.map_or("?", |p| p.with_expert.as_str());
        format!("{what} by {who} failed: {error}")
    }
}

impl Future for Attempt<'_> {
    type Output = AttemptResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<AttemptResult> {
        let this = self.get_mut();
        if this.span.is_some() {
            return this.poll_in_span(cx);
        }
        this.poll_unspanned(cx)
    }
}

impl Attempt<'_> {
    /// [`poll_unspanned`](Self::poll_unspanned) inside the attempt's span:
    /// only when something traces it, so kept out of the common path.
    #[cold]
    #[inline(never)]
    fn poll_in_span(&mut self, cx: &mut Context<'_>) -> Poll<AttemptResult> {
        // Taken out for the call so that the attempt may be borrowed.
        let span = self.span.take();
        let entered = span.as_deref().map(tracing::Span::enter);
        let polled = self.poll_unspanned(cx);
        if polled.is_ready() {
            tracing::debug!("step attempt ended");
        }
        drop(entered);
        self.span = span;
        polled
    }

    /// Polls the calls, catching executor panics.
    #[inline]
    fn poll_unspanned(&mut self, cx: &mut Context<'_>) -> Poll<AttemptResult> {
        let this = self;
        catch_unwind(AssertUnwindSafe(|| this.advance(cx)))
            .unwrap_or_else(|panic| Poll::Ready(panicked(&*panic)))
    }

    /// When the attempt times out, if it has a limit.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|(_, deadline)| deadline)
    }

    /// The result of an attempt stopped at its deadline; dropping it
    /// cancels the call in flight.
    pub(crate) fn timed_out(&self) -> AttemptResult {
        AttemptResult::Failed {
            error: match self.timeout {
                Some((limit, _)) => format!("attempt timed out after {limit:?}"),
                None => "attempt timed out".to_owned(),
            },
            retryable: true,
        }
    }
}

/// A non-retryable failure for an executor that panicked.
fn panicked(panic: &(dyn Any + Send)) -> AttemptResult {
    let message = panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    AttemptResult::Failed {
        error: format!("executor panicked: {message}"),
        retryable: false,
    }
}
