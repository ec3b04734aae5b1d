//! Work a turn starts after its write: attempts, polled once where they are
//! made, and retry backoffs; what has to wait goes into the set in flight.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use tokio::time::Sleep;

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

/// Starts the queued `jobs`: polls each attempt once where it is made, and
/// keeps those that have to wait (and backoffs) in `in_flight`; attempts that
/// ended at once go to `settled`.
pub(super) fn start<'e>(
    jobs: &mut Vec<Job>,
    executor: &'e dyn StepExecutor,
    cx: &mut Context<'_>,
    in_flight: &mut FuturesUnordered<Waiting<'e>>,
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
                    Poll::Pending => in_flight.push(Waiting::Attempt { index, attempt }),
                }
            }
            Job::Backoff { index, delay } => in_flight.push(Waiting::Backoff {
                index,
                sleep: Box::pin(tokio::time::sleep(delay)),
            }),
        }
    }
}
