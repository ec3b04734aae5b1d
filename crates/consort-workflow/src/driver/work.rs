//! Work a turn starts after its write: attempts, polled once where they are
//! made, and retry backoffs; what has to wait goes into the set in flight,
//! under the run's one [`Alarm`] for the attempts' deadlines.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::in_flight::InFlight;
use crate::attempt::{Attempt, AttemptResult};
use crate::context::StepContext;
use crate::executor::StepExecutor;

pub(super) enum Wake {
    Attempt { index: usize, result: AttemptResult },
    Backoff { index: usize },
}

/// Work queued in a turn, started after the turn's write.
pub(super) enum Job {
    Attempt {
        index: usize,
        ctx: StepContext,
        timeout: Option<Duration>,
    },
    Backoff {
        index: usize,
        delay: Duration,
    },
}

/// Started work that has to wait: an attempt, or a retry's backoff.
pub(super) enum Waiting<'e> {
    Attempt {
        index: usize,
        attempt: Attempt<'e>,
    },
    Backoff {
        index: usize,
        sleep: Pin<Box<Sleep>>,
    },
}

impl Waiting<'_> {
    fn deadline(&self) -> Option<Instant> {
        match self {
            Self::Attempt { attempt, .. } => attempt.deadline(),
            Self::Backoff { .. } => None,
        }
    }
}

impl Future for Waiting<'_> {
    type Output = Wake;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Wake> {
        match self.get_mut() {
            Self::Attempt { index, attempt } => {
                Pin::new(attempt).poll(cx).map(|result| Wake::Attempt {
                    index: *index,
                    result,
                })
            }
            Self::Backoff { index, sleep } => sleep
                .as_mut()
                .poll(cx)
                .map(|()| Wake::Backoff { index: *index }),
        }
    }
}

/// The attempts' deadlines, kept by one timer per run set for the earliest
/// deadline in flight, and left alone when that attempt ends first. Nearly
/// every attempt ends long before its deadline: a timer of its own, made,
/// registered and cancelled for each, would cost more than the engine's
/// other bookkeeping of the step. When the alarm rings,
/// [`expire`](Self::expire) ends the attempts that are past their deadline
/// and sets it for the next one.
#[derive(Default)]
pub(super) struct Alarm {
    sleep: Option<Pin<Box<Sleep>>>,
    /// When it rings; `None` when it is not set.
    at: Option<Instant>,
}

impl Alarm {
    /// Makes sure the alarm rings by `deadline`.
    fn set(&mut self, deadline: Instant) {
        if self.at.is_some_and(|at| at <= deadline) {
            return;
        }
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
        self.at = Some(deadline);
    }

    /// Completes when the alarm rings; never while it is not set.
    pub(super) async fn rung(&mut self) {
        match (&mut self.sleep, self.at) {
            (Some(sleep), Some(_)) => sleep.as_mut().await,
            _ => std::future::pending().await,
        }
    }

    /// Ends the attempts in flight that are past their deadline (dropping
    /// them cancels their calls; their results go to `settled`), and sets the
    /// alarm for the earliest deadline left.
    pub(super) fn expire<'e>(&mut self, in_flight: &mut InFlight<'e>, settled: &mut Vec<Wake>) {
        self.at = None;
        let now = Instant::now();
        for waiting in std::mem::take(in_flight) {
            match (waiting.deadline(), &waiting) {
                (Some(deadline), Waiting::Attempt { index, attempt }) if deadline <= now => {
                    settled.push(Wake::Attempt {
                        index: *index,
                        result: attempt.timed_out(),
                    });
                }
                (deadline, _) => {
                    if let Some(deadline) = deadline {
                        self.set(deadline);
                    }
                    in_flight.push(waiting);
                }
            }
        }
    }
}

/// Starts the queued `jobs`: polls each attempt once where it is made, and
/// keeps those that have to wait (and backoffs) in `in_flight`, with the
/// `alarm` set for their deadlines; attempts that ended at once go to
/// `settled`.
pub(super) fn start<'e>(
    jobs: &mut Vec<Job>,
    executor: &'e dyn StepExecutor,
    cx: &mut Context<'_>,
    in_flight: &mut InFlight<'e>,
    alarm: &mut Alarm,
    settled: &mut Vec<Wake>,
) {
    for job in jobs.drain(..) {
        match job {
            Job::Attempt {
                index,
                ctx,
                timeout,
            } => {
                let mut attempt = Attempt::new(executor, ctx, timeout);
                match Pin::new(&mut attempt).poll(cx) {
                    Poll::Ready(result) => settled.push(Wake::Attempt { index, result }),
                    Poll::Pending => {
                        if let Some(deadline) = attempt.deadline() {
                            alarm.set(deadline);
                        }
                        in_flight.push(Waiting::Attempt { index, attempt });
                    }
                }
            }
            Job::Backoff { index, delay } => in_flight.push(Waiting::Backoff {
                index,
                sleep: Box::pin(tokio::time::sleep(delay)),
            }),
        }
    }
}
