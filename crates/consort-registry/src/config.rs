//! Registry tuning.

use std::time::Duration;

use consort_state::retry::RetryBudget;

/// Shortest heartbeat TTL and sweep interval accepted; smaller values are
/// raised to it (a zero TTL would be rejected by every backend and a zero
/// interval would spin).
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How an [`ExpertRegistry`](crate::ExpertRegistry) behaves.
///
/// Defaults (see [`Default`]): a 30 s heartbeat TTL, a sweep every 5 s,
/// events published with source `consort-registry`, and backend calls
/// retried through transient failures for up to 30 s
/// ([`RetryBudget::default`]). Set fields with the `with_*` methods; new
/// fields only ever come with a default.
///
/// ```
/// use std::time::Duration;
/// use consort_registry::RegistryConfig;
///
/// let config = RegistryConfig::default()
///     .with_heartbeat_ttl(Duration::from_secs(10))
///     .with_source("hub-1");
/// assert_eq!(config.sweep_interval, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryConfig {
    /// How long a heartbeat (or registration) keeps an expert online.
    pub heartbeat_ttl: Duration,
    /// How often [`spawn_sweeper`](crate::ExpertRegistry::spawn_sweeper)
    /// looks for lapsed heartbeats to report.
    pub sweep_interval: Duration,
    /// The `source` of every event this registry publishes.
    pub source: String,
    /// How long backend calls are retried through transient failures (a
    /// Redis restart, failover or freeze) before the operation fails with
    /// the last error. Calls that are not safe to repeat (the load counter's
    /// increments, event publishing) are never retried.
    pub retry: RetryBudget,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            heartbeat_ttl: Duration::from_secs(30),
            sweep_interval: Duration::from_secs(5),
            source: "consort-registry".to_owned(),
            retry: RetryBudget::default(),
        }
    }
}

impl RegistryConfig {
    /// Sets [`heartbeat_ttl`](Self::heartbeat_ttl).
    #[must_use]
    pub fn with_heartbeat_ttl(mut self, ttl: Duration) -> Self {
        self.heartbeat_ttl = ttl;
        self
    }

    /// Sets [`sweep_interval`](Self::sweep_interval).
    #[must_use]
    pub fn with_sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every;
        self
    }

    /// Sets [`source`](Self::source).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Sets [`retry`](Self::retry).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryBudget) -> Self {
        self.retry = retry;
        self
    }

    pub(crate) fn normalised(mut self) -> Self {
        self.heartbeat_ttl = self.heartbeat_ttl.max(MIN_INTERVAL);
        self.sweep_interval = self.sweep_interval.max(MIN_INTERVAL);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_intervals_are_raised() {
        let cfg = RegistryConfig::default()
            .with_heartbeat_ttl(Duration::ZERO)
            .with_sweep_interval(Duration::ZERO)
            .normalised();
        assert_eq!(
            (cfg.heartbeat_ttl, cfg.sweep_interval),
            (MIN_INTERVAL, MIN_INTERVAL)
        );
        let long = RegistryConfig::default().normalised();
        assert_eq!(long, RegistryConfig::default());
    }
}
