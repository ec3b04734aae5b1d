//! [`EngineConfig`]: the settings of an engine, and the defaults of its runs.

use std::time::Duration;

use consort_state::retry::RetryBudget;

use crate::error::WorkflowError;
use crate::settings::{Durability, FailurePolicy, RetryPolicy, RunSettings};

/// The shortest lease: renewals every 10 ms are about what a backend takes.
const MIN_LEASE_TTL: Duration = Duration::from_millis(30);
/// The longest lease: a run left by a dead process waits this long for a
/// resume.
const MAX_LEASE_TTL: Duration = Duration::from_secs(3600);
/// The longest a backend call is retried: a run that cannot checkpoint for
/// longer is better stopped (and resumed) than waiting.
const MAX_BACKEND_RETRY: Duration = Duration::from_secs(3600);
/// The longest pause between two reads of a watched run's record.
const MAX_WATCH_INTERVAL: Duration = Duration::from_secs(3600);
/// The shortest time finished runs are kept: a client that started a run
/// gets to read how it ended.
const MIN_RETENTION: Duration = Duration::from_secs(1);

/// Settings of an [`Engine`](crate::Engine).
///
/// ```
/// use std::time::Duration;
/// use consort_workflow::EngineConfig;
/// let config = EngineConfig::default()
///     .with_concurrency(4)
///     .with_lease_ttl(Duration::from_secs(30));
/// assert_eq!(config.run.concurrency, 4);
/// assert!(config.publish_events); // the default
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// What every run starts with (see [`RunSettings`] for the defaults); a
    /// run's builder may change them for that run.
    pub run: RunSettings,
    /// How long a run's lease lasts without renewal; the engine renews it
    /// every third of this while driving. A run left by a dead process can be
    /// resumed elsewhere once this has passed. Default 15 s; 30 ms to 1 h.
    pub lease_ttl: Duration,
    /// Identifies the engine as a lease holder. `None` (the default): each
    /// [`Engine::new`](crate::Engine::new) picks a unique
    /// `engine-{pid}-{random}`. Engines given the same id count as one holder
    /// for the backend, so give each engine its own.
    pub owner_id: Option<String>,
    /// Publish `workflow:*` progress events on the backend's bus (what
    /// [`Engine::watch`](crate::Engine::watch) follows). Default on.
    pub publish_events: bool,
    /// How long, and how often, the engine retries a backend call that failed
    /// with a [transient](consort_state::StateError::is_transient) error (a
    /// Redis restart, a failover, a frozen server) before giving up on it:
    /// checkpoints, lease renewals, reads, events. Default
    /// [`RetryBudget::default`]: 30 s, backoff from 50 ms to 2 s with jitter;
    /// at most 1 h.
    pub backend_retry: RetryBudget,
    /// How often [`Engine::wait`](crate::Engine::wait) and
    /// [`Engine::watch`](crate::Engine::watch) read the run's record besides
    /// following its events, which pub/sub may drop. Default 1 s.
    pub watch_interval: Duration,
    /// How long the records of a finished run (completed, failed or
    /// cancelled) stay in the backend; `None` (the default) keeps them
    /// until someone deletes them. After this, the run is unknown: its
    /// status and events are gone. A server that starts runs for as long
    /// as it lives wants a limit, or its backend grows with every run.
    /// At least 1 s.
    pub retention: Option<Duration>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            run: RunSettings::default(),
            lease_ttl: Duration::from_secs(15),
            owner_id: None,
            publish_events: true,
            backend_retry: RetryBudget::default(),
            watch_interval: Duration::from_secs(1),
            retention: None,
        }
    }
}

impl EngineConfig {
    /// Sets [`run`](Self::run), every run setting at once.
    #[must_use]
    pub fn with_run(mut self, settings: RunSettings) -> Self {
        self.run = settings;
        self
    }

    /// Sets the runs' [`concurrency`](RunSettings::concurrency).
    #[must_use]
    pub fn with_concurrency(mut self, limit: usize) -> Self {
        self.run = self.run.with_concurrency(limit);
        self
    }

    /// Sets the runs' [`retry`](RunSettings::retry).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.run = self.run.with_retry(retry);
        self
    }

    /// Sets the runs' [`step_timeout`](RunSettings::step_timeout).
    #[must_use]
    pub fn with_step_timeout(mut self, timeout: Duration) -> Self {
        self.run = self.run.with_step_timeout(timeout);
        self
    }

    /// Lets the runs' attempts take as long as they take.
    #[must_use]
    pub fn without_step_timeout(mut self) -> Self {
        self.run = self.run.without_step_timeout();
        self
    }

    /// Sets the runs' [`failure_policy`](RunSettings::failure_policy).
    #[must_use]
    pub fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.run = self.run.with_failure_policy(policy);
        self
    }

    /// Sets the runs' [`durability`](RunSettings::durability).
    #[must_use]
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.run = self.run.with_durability(durability);
        self
    }

    /// Sets [`retention`](Self::retention): finished runs' records expire
    /// `retention` after the run finished.
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Sets [`lease_ttl`](Self::lease_ttl).
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Sets [`owner_id`](Self::owner_id).
    #[must_use]
    pub fn with_owner_id(mut self, owner: impl Into<String>) -> Self {
        self.owner_id = Some(owner.into());
        self
    }

    /// Sets [`publish_events`](Self::publish_events).
    #[must_use]
    pub fn with_publish_events(mut self, publish: bool) -> Self {
        self.publish_events = publish;
        self
    }

    /// Sets [`backend_retry`](Self::backend_retry).
    #[must_use]
    pub fn with_backend_retry(mut self, budget: RetryBudget) -> Self {
        self.backend_retry = budget;
        self
    }

    /// Sets [`watch_interval`](Self::watch_interval).
    #[must_use]
    pub fn with_watch_interval(mut self, interval: Duration) -> Self {
        self.watch_interval = interval;
        self
    }

    pub(crate) fn check(&self) -> Result<(), WorkflowError> {
        let bad = |field: &'static str, reason: &str| {
            Err(WorkflowError::InvalidConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        self.run.check()?;
        if !(MIN_LEASE_TTL..=MAX_LEASE_TTL).contains(&self.lease_ttl) {
            return bad("lease_ttl", "must be within 30 ms..=1 h");
        }
        if self
            .owner_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            return bad("owner_id", "must not be empty");
        }
        if self.backend_retry.max_elapsed > MAX_BACKEND_RETRY {
            return bad("backend_retry.max_elapsed", "must be at most 1 h");
        }
        if self.watch_interval.is_zero() || self.watch_interval > MAX_WATCH_INTERVAL {
            return bad("watch_interval", "must be above 0 and at most 1 h");
        }
        if self.retention.is_some_and(|kept| kept < MIN_RETENTION) {
            return bad("retention", "must be at least 1 s");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_rejected_by_name() {
        assert!(EngineConfig::default().check().is_ok());
        for (config, field) in [
            (EngineConfig::default().with_concurrency(0), "concurrency"),
            (EngineConfig::default().with_owner_id(" "), "owner_id"),
            (
                EngineConfig::default().with_step_timeout(Duration::ZERO),
                "step_timeout",
            ),
            (
                EngineConfig::default().with_lease_ttl(Duration::from_millis(1)),
                "lease_ttl",
            ),
            (
                EngineConfig::default().with_retention(Duration::from_millis(999)),
                "retention",
            ),
        ] {
            match config.check() {
                Err(WorkflowError::InvalidConfig { field: named, .. }) => assert_eq!(named, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
