//! [`RunSettings`]: how one run executes its steps (concurrency, retries,
//! timeouts, failure policy, durability).

use std::time::Duration;

use consort_protocol::RetrySpec;
use jiff::fmt::serde::unsigned_duration::friendly::compact as duration;
use serde::{Deserialize, Serialize};

use crate::error::WorkflowError;

/// What happens to the rest of a run when a step fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Stop at the first failure: steps in flight are cancelled (their calls
    /// dropped, state `cancelled`), steps not started are `skipped`, the run
    /// is `failed`.
    #[default]
    FailFast,
    /// Keep running every step that does not depend on the failed one; its
    /// dependents (direct and indirect) are `skipped`; the run ends `failed`.
    ContinueOnFailure,
}

/// How much of a run is written to the state backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Durability {
    /// Every step transition is checkpointed (one atomic, lease-guarded batch
    /// per transition) and the run is owned through a lease: a run left by a
    /// dead process can be resumed, and `status` works from any process.
    #[default]
    Steps,
    /// Nothing is written and no lease is taken: the run lives only in the
    /// call that drives it (`run_to_end` returns its final status). For
    /// ephemeral runs (tests, request-scoped pipelines) that would simply be
    /// started again after a crash. `status`, `resume`, `cancel` by id,
    /// `wait` and `watch` do not know such runs.
    None,
}

/// Retries of a step with exponential backoff and jitter.
///
/// ```
/// use std::time::Duration;
/// use consort_workflow::RetryPolicy;
/// let policy = RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_initial_backoff(Duration::from_millis(200));
/// assert_eq!(policy.max_attempts, 5);
/// assert_eq!(policy.max_backoff, Duration::from_secs(10)); // the default
/// ```
///
/// Stored with a run as JSON, durations in jiff's friendly format:
/// `{"max_attempts": 3, "initial_backoff": "100ms", "max_backoff": "10s"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry). Default 3.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles for each further one.
    /// Default 100 ms.
    #[serde(with = "duration::required")]
    pub initial_backoff: Duration,
    /// Upper bound of the wait. Default 10 s.
    #[serde(with = "duration::required")]
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl From<RetrySpec> for RetryPolicy {
    fn from(spec: RetrySpec) -> Self {
        Self {
            max_attempts: spec.max_attempts,
            initial_backoff: Duration::from_millis(spec.initial_backoff_ms),
            max_backoff: Duration::from_millis(spec.max_backoff_ms),
        }
    }
}

impl RetryPolicy {
    /// Sets [`max_attempts`](Self::max_attempts).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`initial_backoff`](Self::initial_backoff).
    #[must_use]
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets [`max_backoff`](Self::max_backoff).
    #[must_use]
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The wait after `failed_attempts` failures: `initial * 2^(n-1)`, capped
    /// at `max_backoff`, then scaled by a random factor in `[0.5, 1.0]` so
    /// that steps failing together do not retry in lockstep.
    pub fn backoff(&self, failed_attempts: u32) -> Duration {
        let exponent = failed_attempts.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        base.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

/// How one run executes its steps. Every run starts with its engine's
/// [`EngineConfig::run`](crate::EngineConfig::run); a run's builder
/// ([`Engine::new_run`](crate::Engine::new_run)) may change any of them.
///
/// The settings are stored with the run, and a resumed run continues with
/// them, whichever engine resumes it; a resume may change them explicitly
/// ([`ResumeBuilder::with_settings`](crate::ResumeBuilder::with_settings)),
/// and the change is recorded in the run ([`SettingsChange`]).
///
/// ```
/// use consort_workflow::{FailurePolicy, RunSettings};
/// let settings = RunSettings::default()
///     .with_concurrency(4)
///     .with_failure_policy(FailurePolicy::ContinueOnFailure);
/// assert_eq!(settings.concurrency, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunSettings {
    /// Most step calls in flight at once. Default 16.
    pub concurrency: usize,
    /// Retries for steps without a `retry` of their own.
    pub retry: RetryPolicy,
    /// Limit of one attempt (execution and validations) for steps without
    /// `timeout_ms`; `None` for no limit. A timeout is a retryable failure.
    /// Default 300 s.
    #[serde(with = "duration::optional")]
    pub step_timeout: Option<Duration>,
    /// What a step failing for good does to the run. Default fail-fast.
    pub failure_policy: FailurePolicy,
    /// What is written to the backend. Default every step transition.
    pub durability: Durability,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            retry: RetryPolicy::default(),
            step_timeout: Some(Duration::from_secs(300)),
            failure_policy: FailurePolicy::default(),
            durability: Durability::default(),
        }
    }
}

impl RunSettings {
    /// Sets [`concurrency`](Self::concurrency).
    #[must_use]
    pub fn with_concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit;
        self
    }

    /// Sets [`retry`](Self::retry).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Limits each attempt to `timeout` (see [`step_timeout`](Self::step_timeout)).
    #[must_use]
    pub fn with_step_timeout(mut self, timeout: Duration) -> Self {
        self.step_timeout = Some(timeout);
        self
    }

    /// Lets attempts take as long as they take.
    #[must_use]
    pub fn without_step_timeout(mut self) -> Self {
        self.step_timeout = None;
        self
    }

    /// Sets [`failure_policy`](Self::failure_policy).
    #[must_use]
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = policy;
        self
    }

    /// Sets [`durability`](Self::durability).
    #[must_use]
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Fails with [`WorkflowError::InvalidConfig`] naming the first setting
    /// out of range. The bounds are those of a step's own `retry` and
    /// `timeout_ms` in a definition: at most
    /// [`RetrySpec::MAX_ATTEMPTS`] attempts, backoffs up to
    /// [`RetrySpec::MAX_BACKOFF_MS`] with the initial one at most the
    /// maximum, and a step timeout above zero and at most
    /// [`WorkflowStep::MAX_TIMEOUT_MS`](consort_protocol::WorkflowStep::MAX_TIMEOUT_MS).
    pub(crate) fn check(&self) -> Result<(), WorkflowError> {
        match self.problem() {
            Some((field, reason)) => Err(WorkflowError::InvalidConfig { field, reason }),
            None => Ok(()),
        }
    }

    /// The first setting out of range, as `(field, reason)`.
    fn problem(&self) -> Option<(&'static str, String)> {
        let max_backoff = Duration::from_millis(RetrySpec::MAX_BACKOFF_MS);
        let max_timeout = Duration::from_millis(consort_protocol::WorkflowStep::MAX_TIMEOUT_MS);
        let retry = &self.retry;
        let problem = if self.concurrency == 0 {
            ("concurrency", "must be at least 1".to_owned())
        } else if !(1..=RetrySpec::MAX_ATTEMPTS).contains(&retry.max_attempts) {
            (
                "retry.max_attempts",
                format!(
                    "{} is not within 1..={}",
                    retry.max_attempts,
                    RetrySpec::MAX_ATTEMPTS
                ),
            )
        } else if retry.max_backoff > max_backoff {
            (
                "retry.max_backoff",
                format!(
                    "{:?} is over the limit of {max_backoff:?}",
                    retry.max_backoff
                ),
            )
        } else if retry.initial_backoff > retry.max_backoff {
            (
                "retry.initial_backoff",
                format!(
                    "{:?} is over max_backoff ({:?})",
                    retry.initial_backoff, retry.max_backoff
                ),
            )
        } else if self.step_timeout.is_some_and(|t| t.is_zero()) {
            (
                "step_timeout",
                "0 would fail every attempt; use without_step_timeout for no limit".to_owned(),
            )
        } else if let Some(timeout) = self.step_timeout.filter(|t| *t > max_timeout) {
            (
                "step_timeout",
                format!("{timeout:?} is over the limit of {max_timeout:?}"),
            )
        } else {
            return None;
        };
        Some(problem)
    }
}

/// A change of a run's settings made when it was resumed, as recorded in
/// the run (see [`RunStatus::settings_changes`](crate::RunStatus::settings_changes)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SettingsChange {
    /// When the run was resumed with them.
    pub at: jiff::Timestamp,
    /// The owner id of the engine that resumed it.
    pub by: String,
    /// The settings before.
    pub before: RunSettings,
    /// The settings after.
    pub after: RunSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let policy = RetryPolicy::default()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(1000));
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.backoff(40) <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn settings_are_stored_in_readable_json_and_read_back() {
        let settings = RunSettings::default()
            .with_concurrency(4)
            .with_failure_policy(FailurePolicy::ContinueOnFailure);
        let json = serde_json::to_value(settings).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "concurrency": 4,
                "retry": {"max_attempts": 3, "initial_backoff": "100ms", "max_backoff": "10s"},
                "step_timeout": "5m",
                "failure_policy": "continue_on_failure",
                "durability": "steps",
            })
        );
        let back: RunSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, settings);
        let unlimited = settings.without_step_timeout();
        let json = serde_json::to_string(&unlimited).unwrap();
        assert_eq!(
            serde_json::from_str::<RunSettings>(&json).unwrap(),
            unlimited
        );
    }

    #[test]
    fn bad_settings_are_named() {
        assert_eq!(RunSettings::default().problem(), None);
        assert_eq!(
            RunSettings::default().with_concurrency(0).problem(),
            Some(("concurrency", "must be at least 1".to_owned()))
        );
        // What used to validate, then hang.
        let endless = RetryPolicy::default()
            .with_max_attempts(u32::MAX)
            .with_max_backoff(Duration::MAX);
        assert_eq!(
            RunSettings::default().with_retry(endless).problem(),
            Some((
                "retry.max_attempts",
                "4294967295 is not within 1..=100".to_owned()
            ))
        );
        let slow = RetryPolicy::default().with_max_backoff(Duration::MAX);
        assert_eq!(
            RunSettings::default()
                .with_retry(slow)
                .problem()
                .map(|p| p.0),
            Some("retry.max_backoff")
        );
        let inverted = RetryPolicy::default()
            .with_initial_backoff(Duration::from_secs(20))
            .with_max_backoff(Duration::from_secs(10));
        assert_eq!(
            RunSettings::default()
                .with_retry(inverted)
                .problem()
                .map(|p| p.0),
            Some("retry.initial_backoff")
        );
        assert_eq!(
            RunSettings::default()
                .with_step_timeout(Duration::from_secs(25 * 3600))
                .problem()
                .map(|p| p.0),
            Some("step_timeout")
        );
        assert_eq!(
            RunSettings::default()
                .with_step_timeout(Duration::ZERO)
                .problem()
                .map(|p| p.0),
            Some("step_timeout")
        );
        assert_eq!(
            RunSettings::default()
                .with_retry(RetryPolicy::default().with_max_attempts(0))
                .problem()
                .map(|p| p.0),
            Some("retry.max_attempts")
        );
    }
}
