//! [`EngineConfig`]: how the engine runs steps.

use std::time::Duration;

use consort_protocol::RetrySpec;

use crate::error::WorkflowError;

/// What happens to the rest of a run when a step fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
    /// started again after a crash. `status`, `resume`, `cancel` by id and
    /// `answer_human` do not know such runs.
    None,
}

/// Retries with exponential backoff and jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles for each further one.
    pub initial_backoff: Duration,
    /// Upper bound of the wait.
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

/// Settings of an [`Engine`](crate::Engine).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Most step calls in flight at once per run.
    pub concurrency: usize,
    /// Retries for steps without a `retry` of their own.
    pub retry: RetryPolicy,
    /// Limit of one attempt (execution and validations) for steps without
    /// `timeout_ms`; `None` for no limit. A timeout is a retryable failure.
    pub step_timeout: Option<Duration>,
    /// What a step failing for good does to the run.
    pub failure_policy: FailurePolicy,
    /// What is written to the backend.
    pub durability: Durability,
    /// How long a run's lease lasts without renewal; the engine renews it
    /// every third of this while driving. A run left by a dead process can be
    /// resumed elsewhere once this has passed.
    pub lease_ttl: Duration,
    /// Identifies the engine as a lease holder. `None` (the default): each
    /// [`Engine::new`](crate::Engine::new) picks a unique
    /// `engine-{pid}-{random}`. Engines given the same id count as one holder
    /// for the backend, so give each engine its own.
    pub owner_id: Option<String>,
    /// Publish `workflow:*` progress events on the backend's bus.
    pub publish_events: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            retry: RetryPolicy::default(),
            step_timeout: Some(Duration::from_secs(300)),
            failure_policy: FailurePolicy::default(),
            durability: Durability::default(),
            lease_ttl: Duration::from_secs(15),
            owner_id: None,
            publish_events: true,
        }
    }
}

impl EngineConfig {
    /// Sets [`concurrency`](Self::concurrency).
    #[must_use]
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit;
        self
    }

    /// Sets [`retry`](Self::retry).
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets [`step_timeout`](Self::step_timeout).
    #[must_use]
    pub fn step_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.step_timeout = timeout;
        self
    }

    /// Sets [`failure_policy`](Self::failure_policy).
    #[must_use]
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = policy;
        self
    }

    /// Sets [`durability`](Self::durability).
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets [`lease_ttl`](Self::lease_ttl).
    #[must_use]
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Sets [`owner_id`](Self::owner_id).
    #[must_use]
    pub fn owner_id(mut self, owner: impl Into<String>) -> Self {
        self.owner_id = Some(owner.into());
        self
    }

    /// Sets [`publish_events`](Self::publish_events).
    #[must_use]
    pub fn publish_events(mut self, publish: bool) -> Self {
        self.publish_events = publish;
        self
    }

    pub(crate) fn check(&self) -> Result<(), WorkflowError> {
        let bad = |why: &str| Err(WorkflowError::InvalidConfig(why.to_owned()));
        if self.concurrency == 0 {
            return bad("concurrency must be at least 1");
        }
        if self.retry.max_attempts == 0 {
            return bad("retry.max_attempts must be at least 1");
        }
        if self.lease_ttl < Duration::from_millis(30) {
            return bad("lease_ttl must be at least 30 ms");
        }
        if self
            .owner_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            return bad("owner_id must not be empty");
        }
        if self.step_timeout.is_some_and(|t| t.is_zero()) {
            return bad("step_timeout of 0 would fail every attempt; use None for no limit");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.backoff(40) <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn bad_settings_are_rejected() {
        assert!(EngineConfig::default().check().is_ok());
        assert!(EngineConfig::default().concurrency(0).check().is_err());
        assert!(EngineConfig::default().owner_id(" ").check().is_err());
        assert!(
            EngineConfig::default()
                .step_timeout(Some(Duration::ZERO))
                .check()
                .is_err()
        );
    }
}
