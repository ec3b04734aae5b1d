//! Registry tuning.

use std::time::Duration;

/// Shortest heartbeat TTL and sweep interval accepted; smaller values are
/// raised to it (a zero TTL would be rejected by every backend and a zero
/// interval would spin).
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How an [`ExpertRegistry`](crate::ExpertRegistry) behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// How long a heartbeat (or registration) keeps an expert online.
    pub heartbeat_ttl: Duration,
    /// How often [`spawn_sweeper`](crate::ExpertRegistry::spawn_sweeper)
    /// looks for lapsed heartbeats to report.
    pub sweep_interval: Duration,
    /// The `source` of every event this registry publishes.
    pub source: String,
}

impl Default for RegistryConfig {
    /// A 30 s heartbeat TTL, a 5 s sweep and source `consort-registry`.
    fn default() -> Self {
        Self {
            heartbeat_ttl: Duration::from_secs(30),
            sweep_interval: Duration::from_secs(5),
            source: "consort-registry".to_owned(),
        }
    }
}

impl RegistryConfig {
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
        let cfg = RegistryConfig {
            heartbeat_ttl: Duration::ZERO,
            sweep_interval: Duration::ZERO,
            source: "s".into(),
        }
        .normalised();
        assert_eq!(
            (cfg.heartbeat_ttl, cfg.sweep_interval),
            (MIN_INTERVAL, MIN_INTERVAL)
        );
        let long = RegistryConfig::default().normalised();
        assert_eq!(long, RegistryConfig::default());
    }
}
