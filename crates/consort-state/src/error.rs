//! The crate's single error type.

use std::time::Duration;

use crate::backend::{Expect, Version};

/// The underlying cause of a backend failure, kept typed: downcast it to the
/// backend's own error (for example `redis::RedisError`) to inspect it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a [`StateBackend`](crate::StateBackend) operation can fail with.
///
/// Every message names the key, topic or lease it concerns, so a log line is
/// actionable on its own. [`is_transient`](Self::is_transient) tells which
/// failures may go away by retrying (see [`retry`](crate::retry)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The key does not exist (or has expired).
    #[error("key `{key}` not found")]
    NotFound {
        /// The key that was looked up.
        key: String,
    },

    /// A compare-and-set (alone or inside a batch) found a different version.
    #[error("version conflict on key `{key}`: expected {expected}, found {}", fmt_actual(*.actual))]
    VersionConflict {
        /// The key whose version did not match.
        key: String,
        /// What the caller expected.
        expected: Expect,
        /// The version actually stored, `None` when the key was absent.
        actual: Option<Version>,
    },

    /// The lease expired or was taken over by another holder.
    #[error("lease `{name}` with fencing token {token} is no longer held")]
    LeaseLost {
        /// Lease name.
        name: String,
        /// The fencing token the caller presented.
        token: u64,
    },

    /// The backend cannot serve right now: the connection was refused, reset
    /// or dropped, or the server is loading, failing over or read-only.
    /// Transient.
    ///
    /// For a write, the outcome is unknown when the connection broke after
    /// the request was sent: see [`StateBackend::apply`](crate::StateBackend::apply)
    /// for how to reconcile.
    #[error("{backend} backend unavailable: {operation} `{target}`: {source}")]
    Unavailable {
        /// Which backend, e.g. `"redis"`.
        backend: &'static str,
        /// The operation, e.g. `"get"`.
        operation: &'static str,
        /// The key, topic, lease or server concerned (boxed: this error is
        /// kept small because every crate above carries it).
        target: Box<str>,
        /// The backend's own error.
        #[source]
        source: BoxError,
    },

    /// The backend did not answer in time. Transient; for a write the outcome
    /// is unknown (the request may still be applied).
    #[error("{operation} on `{key_or_topic}` timed out after {after:?}")]
    Timeout {
        /// The operation, e.g. `"get"`.
        operation: &'static str,
        /// The key, topic or lease name involved.
        key_or_topic: String,
        /// The configured limit that was exceeded.
        after: Duration,
    },

    /// The backend refused the credentials (wrong or missing user or
    /// password). Not transient: fix the URL or the ACL.
    #[error("{backend} authentication failed for {target}: {source}")]
    AuthenticationFailed {
        /// Which backend, e.g. `"redis"`.
        backend: &'static str,
        /// The server (password redacted) or the operation and key.
        target: String,
        /// The backend's own error.
        #[source]
        source: BoxError,
    },

    /// A stored value could not be (de)serialized as the requested type.
    #[error("value of key `{key}` could not be (de)serialized: {source}")]
    Serialization {
        /// The key whose value was involved.
        key: String,
        /// The underlying serde_json error (it carries line and column).
        #[source]
        source: serde_json::Error,
    },

    /// A key, namespace, topic or lease name was rejected before anything was stored.
    #[error("invalid key `{key}`: {reason}")]
    InvalidKey {
        /// The rejected key (truncated to a printable length if huge).
        key: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A value exceeds the backend's size limit; nothing was stored.
    #[error("value for key `{key}` is {size} bytes, over the limit of {limit} bytes")]
    ValueTooLarge {
        /// The key the value was destined for.
        key: String,
        /// Size of the rejected value in bytes.
        size: usize,
        /// The backend's limit in bytes.
        limit: usize,
    },

    /// An argument other than a key was out of range (e.g. a zero TTL).
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// Which argument, naming the key when there is one.
        what: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A configuration value was rejected by the backend's client (e.g. a
    /// malformed Redis URL).
    #[error("invalid {what}: {source}")]
    InvalidConfig {
        /// Which setting, with its value (passwords redacted).
        what: String,
        /// The client library's error.
        #[source]
        source: BoxError,
    },

    /// A stored value is not in the format this crate writes (e.g. written by another tool).
    #[error("key `{key}` holds data this backend cannot read: {detail}")]
    Corrupt {
        /// The key holding the unexpected data.
        key: String,
        /// What was wrong with it.
        detail: String,
    },

    /// The backend answered with an error that retrying will not cure (a
    /// script error, a permission error, an unexpected reply).
    #[error("{backend} backend error: {operation} `{target}`: {source}")]
    Backend {
        /// Which backend, e.g. `"redis"`.
        backend: &'static str,
        /// The operation, e.g. `"apply"`.
        operation: &'static str,
        /// The key, topic or lease concerned.
        target: Box<str>,
        /// The backend's own error.
        #[source]
        source: BoxError,
    },
}

fn fmt_actual(actual: Option<Version>) -> String {
    match actual {
        Some(v) => format!("version {v}"),
        None => "no value".to_owned(),
    }
}

impl StateError {
    /// True for errors that may go away by retrying later:
    /// [`Unavailable`](Self::Unavailable) and [`Timeout`](Self::Timeout).
    ///
    /// Everything else (conflicts, lost leases, bad input, authentication
    /// failures, corrupt data) fails the same way again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StateError::Unavailable { .. } | StateError::Timeout { .. }
        )
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = StateError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error type above embeds this one next to its own context:
    /// keep it small enough that theirs stay under clippy's
    /// `result_large_err` threshold (128 bytes).
    #[test]
    fn stays_small() {
        assert!(std::mem::size_of::<StateError>() <= 72);
    }
}
