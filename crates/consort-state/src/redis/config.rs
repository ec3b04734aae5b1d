//! [`RedisConfig`]: where the server is and how long to wait for it.

use std::fmt;
use std::time::Duration;

use crate::key::DEFAULT_MAX_VALUE_BYTES;

/// How to reach Redis.
///
/// Defaults (see [`Default`]): `redis://127.0.0.1:6379/`, namespace
/// `consort`, 2 s connect and response timeouts, 16 MiB values, 1024
/// buffered events per subscription pattern. Set fields with the `with_*`
/// methods; new fields only ever come with a default.
///
/// ```
/// use std::time::Duration;
/// use consort_state::RedisConfig;
///
/// let cfg = RedisConfig::new("redis://:secret@127.0.0.1:6379/0", "mcp")
///     .with_response_timeout(Duration::from_millis(500));
/// assert_eq!(cfg.namespace, "mcp");
/// // The password never shows in logs.
/// assert!(!format!("{cfg:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// `redis://[user[:password]@]host[:port][/db]`, or `rediss://` with the
    /// `redis-tls` feature. ACL user and password come from the URL.
    pub url: String,
    /// Namespace: prefix of every key and channel (ASCII letters, digits, `-_.:`).
    pub namespace: String,
    /// Limit for establishing a connection (also each reconnect attempt).
    pub connect_timeout: Duration,
    /// Limit for every request; exceeded calls fail with
    /// [`StateError::Timeout`](crate::StateError::Timeout). While the server
    /// is unreachable a call fails with
    /// [`StateError::Unavailable`](crate::StateError::Unavailable) after at
    /// most two connect attempts, so the worst case for one call is
    /// `2 * connect_timeout + response_timeout` (plus a 50 ms back-off).
    pub response_timeout: Duration,
    /// Largest value accepted, in bytes (checked before sending).
    pub max_value_bytes: usize,
    /// Messages buffered per subscription pattern before a slow subscriber
    /// gets [`Delivery::Lagged`](crate::Delivery::Lagged).
    pub event_buffer: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379/".to_owned(),
            namespace: "consort".to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            event_buffer: 1024,
        }
    }
}

impl RedisConfig {
    /// The defaults with this URL and namespace.
    #[must_use]
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self::default().with_url(url).with_namespace(namespace)
    }

    /// Sets [`url`](Self::url).
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Sets [`namespace`](Self::namespace).
    #[must_use]
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`response_timeout`](Self::response_timeout).
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Sets [`max_value_bytes`](Self::max_value_bytes).
    #[must_use]
    pub fn with_max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes;
        self
    }

    /// Sets [`event_buffer`](Self::event_buffer).
    #[must_use]
    pub fn with_event_buffer(mut self, messages: usize) -> Self {
        self.event_buffer = messages;
        self
    }
}

/// The URL without its password, for logs and errors.
pub(super) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact(&self.url))
            .field("namespace", &self.namespace)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("max_value_bytes", &self.max_value_bytes)
            .field("event_buffer", &self.event_buffer)
            .finish()
    }
}
