//! The storage layout: one place that spells every key.

/// Prefix of profile keys; listing it enumerates registered experts.
pub(crate) const PROFILE_PREFIX: &str = "experts:profile:";

pub(crate) fn profile(id: &str) -> String {
    format!("{PROFILE_PREFIX}{id}")
}

pub(crate) fn heartbeat(id: &str) -> String {
    format!("experts:heartbeat:{id}")
}

pub(crate) fn liveness(id: &str) -> String {
    format!("experts:liveness:{id}")
}

/// A counter (the backend's counter keyspace), not a value.
pub(crate) fn load(id: &str) -> String {
    format!("experts:load:{id}")
}

/// Every registry event is published on a topic under this pattern.
pub(crate) const EVENT_PATTERN: &str = "expert:*";
