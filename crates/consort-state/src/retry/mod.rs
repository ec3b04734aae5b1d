//! Riding through transient backend errors: retries with exponential
//! backoff and jitter, within a time budget.
//!
//! A Redis restart, a failover or a server frozen for a few seconds makes
//! calls fail with [transient](crate::StateError::is_transient) errors;
//! [`retry_transient`] repeats an operation until it succeeds, fails for
//! good, or its [`RetryBudget`] is spent, and then returns the last error.
//! Any error type that says whether it is transient ([`Transient`]) works,
//! so crates that wrap [`StateError`] retry the same way.
//!
//! ```
//! use consort_state::retry::{RetryBudget, retry_transient};
//! use consort_state::{MemoryBackend, StateBackend};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> consort_state::Result<()> {
//! let state = MemoryBackend::new("docs")?;
//! let budget = RetryBudget::default(); // 30 s
//! let version = retry_transient(&budget, || state.set("k", "v".into(), None)).await?;
//! # assert!(version > 0);
//! # Ok(())
//! # }
//! ```
//!
//! Only retry what is safe to repeat. Reads, unconditional sets, deletes and
//! lease renewals are. A counter increment is not (a timed-out increment may
//! have applied), and neither is a batch with a compare-and-set unless it
//! carries a [`Receipt`](crate::Receipt): [`apply_once`] applies such a batch
//! exactly once.

mod batch;

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use tokio::time::Instant;

use crate::error::StateError;

pub use batch::{BatchOutcome, apply_once};

/// An error that knows whether retrying later may succeed.
pub trait Transient {
    /// True if the same call may succeed later (the backend was unreachable
    /// or slow); false if it fails the same way again.
    fn is_transient(&self) -> bool;
}

impl Transient for StateError {
    fn is_transient(&self) -> bool {
        StateError::is_transient(self)
    }
}

/// How long and how often [`retry_transient`] keeps trying.
///
/// Waits start at `initial_delay` and double up to `max_delay`; with
/// `jitter` each wait is stretched by a random factor between 1 and 2, so
/// that many clients do not retry in lockstep. No retry starts after
/// `max_elapsed` from the first attempt.
///
/// Defaults: 30 s budget, 50 ms first wait, 2 s longest wait, jitter on.
///
/// ```
/// use std::time::Duration;
/// use consort_state::retry::RetryBudget;
///
/// let patient = RetryBudget::default().with_max_elapsed(Duration::from_secs(120));
/// let none = RetryBudget::none();
/// assert_eq!(none.max_elapsed, Duration::ZERO);
/// # drop(patient);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryBudget {
    /// No retry starts later than this after the first attempt. Zero: one
    /// attempt, no retries.
    pub max_elapsed: Duration,
    /// The first wait.
    pub initial_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// Randomise each wait (by a factor between 1 and 2).
    pub jitter: bool,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self {
            max_elapsed: Duration::from_secs(30),
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            jitter: true,
        }
    }
}

impl RetryBudget {
    /// One attempt, no retries.
    #[must_use]
    pub fn none() -> Self {
        Self::default().with_max_elapsed(Duration::ZERO)
    }

    /// Sets [`max_elapsed`](Self::max_elapsed).
    #[must_use]
    pub fn with_max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = budget;
        self
    }

    /// Sets [`initial_delay`](Self::initial_delay).
    #[must_use]
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    #[must_use]
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets [`jitter`](Self::jitter).
    #[must_use]
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }
}

/// backon's exponential backoff, cut off at a deadline: the budget is wall
/// time (attempts that time out count), not the sum of the waits.
#[derive(Debug)]
struct Deadline {
    waits: <ExponentialBuilder as BackoffBuilder>::Backoff,
    deadline: Instant,
}

impl Iterator for Deadline {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        self.waits.next().map(|wait| wait.min(left))
    }
}

impl RetryBudget {
    fn backoff(&self) -> Deadline {
        let mut waits = ExponentialBuilder::new()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay.max(self.initial_delay))
            .without_max_times();
        if self.jitter {
            waits = waits.with_jitter();
        }
        Deadline {
            waits: waits.build(),
            deadline: Instant::now() + self.max_elapsed,
        }
    }
}

/// Runs `op` until it succeeds, fails with an error that is not
/// [transient](Transient::is_transient), or `budget` is spent; returns the
/// last outcome. Each retry is logged (the first at `warn`, later ones at
/// `debug`), naming the error.
///
/// `op` is called afresh for each attempt, so it must be safe to repeat
/// (see the [module docs](self)).
pub async fn retry_transient<T, E, F, Fut>(budget: &RetryBudget, op: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Transient + Display,
{
    let mut retries = 0u32;
    op.retry(budget.backoff())
        .when(E::is_transient)
        .notify(|error: &E, wait: Duration| {
            retries += 1;
            if retries == 1 {
                tracing::warn!(%error, ?wait, "transient backend error; retrying");
            } else {
                tracing::debug!(%error, ?wait, retries, "transient backend error; retrying");
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn unavailable() -> StateError {
        StateError::Unavailable {
            backend: "test",
            operation: "get",
            target: "k".into(),
            source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_the_budget_is_spent() {
        let budget = RetryBudget::default().with_max_elapsed(Duration::from_secs(30));
        let attempts = AtomicU32::new(0);
        let start = Instant::now();
        let out: Result<(), StateError> = retry_transient(&budget, || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err(unavailable())
        })
        .await;
        assert!(out.is_err_and(|e| e.is_transient()));
        // Virtual time: the last retry starts at the deadline, none after.
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        // 50 ms doubling to 2 s with jitter up to 2x: between 15 and 40 attempts.
        let n = attempts.load(Ordering::Relaxed);
        assert!((15..=40).contains(&n), "{n} attempts");
    }

    #[tokio::test(start_paused = true)]
    async fn succeeds_once_the_outage_ends() {
        let budget = RetryBudget::default();
        let attempts = AtomicU32::new(0);
        let start = Instant::now();
        let out = retry_transient(&budget, || async {
            let n = attempts.fetch_add(1, Ordering::Relaxed);
            // Down for 3 s of virtual time.
            if start.elapsed() < Duration::from_secs(3) {
                Err(unavailable())
            } else {
                Ok(n)
            }
        })
        .await;
        assert!(out.is_ok_and(|n| n > 0));
        assert!(start.elapsed() >= Duration::from_secs(3));
        // The longest wait is 2 s (4 s with jitter), so it is back soon after.
        assert!(start.elapsed() < Duration::from_secs(3 + 4));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let attempts = AtomicU32::new(0);
        let out: Result<(), StateError> = retry_transient(&RetryBudget::default(), || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err(StateError::NotFound { key: "k".into() })
        })
        .await;
        assert!(matches!(out, Err(StateError::NotFound { .. })));
        assert_eq!(attempts.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_budget_means_one_attempt() {
        let attempts = AtomicU32::new(0);
        let out: Result<(), StateError> = retry_transient(&RetryBudget::none(), || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            Err(unavailable())
        })
        .await;
        assert!(out.is_err());
        assert_eq!(attempts.load(Ordering::Relaxed), 1);
    }
}
