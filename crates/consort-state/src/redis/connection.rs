//! Connecting, and running one command with its error context.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::codec::KvKey;
use super::config::{RedisConfig, redact};
use super::errors::map_err;
use super::pubsub::{Hub, HubConfig};
use super::versions::Versions;
use super::{Inner, RedisBackend};
use crate::error::{Result, StateError};
use crate::key::validate_namespace;

impl RedisBackend {
    /// Connects and reserves a writer id.
    ///
    /// Fails with [`StateError::Unavailable`] or [`StateError::Timeout`]
    /// (transient) if the server cannot be reached in time,
    /// [`StateError::AuthenticationFailed`] if it refuses the URL's
    /// credentials, and [`StateError::InvalidConfig`] for a malformed URL.
    pub async fn connect(cfg: RedisConfig) -> Result<RedisBackend> {
        validate_namespace(&cfg.namespace)?;
        let shown = redact(&cfg.url);
        #[cfg(feature = "redis-tls")]
        {
            // rustls needs a process-wide crypto provider; another crate may
            // already have installed one, which is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client =
            redis::Client::open(cfg.url.as_str()).map_err(|e| StateError::InvalidConfig {
                what: format!("redis url `{shown}`"),
                source: Box::new(e),
            })?;
        let mcfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(cfg.connect_timeout))
            .set_response_timeout(Some(cfg.response_timeout))
            // Few, short reconnect attempts per failed call: callers get a
            // prompt error during an outage and the next call tries again.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let limit = cfg.connect_timeout + cfg.response_timeout;
        let conn = match tokio::time::timeout(
            limit,
            ConnectionManager::new_with_config(client.clone(), mcfg),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(map_err("connect", &shown, e, limit)),
            Err(_) => {
                return Err(StateError::Timeout {
                    operation: "connect",
                    key_or_topic: shown,
                    after: limit,
                });
            }
        };
        let ns = cfg.namespace.clone();
        let backend = RedisBackend {
            inner: Arc::new(Inner {
                kv_prefix: format!("{ns}:kv:"),
                events_prefix: format!("{ns}:events:"),
                cfg,
                client,
                conn,
                versions: Mutex::new(Versions::default()),
                hub: OnceLock::new(),
            }),
        };
        backend.next_version().await?;
        Ok(backend)
    }

    /// The configuration this backend was connected with.
    pub fn config(&self) -> &RedisConfig {
        &self.inner.cfg
    }

    /// `{ns}:kv:{key}`, written into the command without a `String`.
    pub(super) fn kv<'a>(&'a self, key: &'a str) -> KvKey<'a> {
        KvKey {
            prefix: &self.inner.kv_prefix,
            key,
        }
    }

    /// `{ns}:{kind}:{key}` for counters, leases and metadata.
    pub(super) fn ns_key(&self, kind: &str, key: &str) -> String {
        format!("{}:{kind}:{key}", self.inner.cfg.namespace)
    }

    pub(super) fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    pub(super) fn max_value_bytes(&self) -> usize {
        self.inner.cfg.max_value_bytes
    }

    /// Maps redis errors to ours, naming the operation and key.
    ///
    /// No timer of our own here: the connection manager already bounds each
    /// request by the response timeout and each reconnect attempt by the
    /// connect timeout, and a second per-call tokio timer measurably cut
    /// throughput with many calls in flight (about 10% at 100 in flight).
    pub(super) async fn run<T>(
        &self,
        op: &'static str,
        what: &str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        fut.await
            .map_err(|e| map_err(op, what, e, self.inner.cfg.response_timeout))
    }

    /// The pub/sub task, started by the first subscription.
    pub(super) fn hub(&self) -> &Hub {
        self.inner.hub.get_or_init(|| {
            Hub::start(HubConfig {
                client: self.inner.client.clone(),
                channel_prefix: self.inner.events_prefix.clone(),
                connect_timeout: self.inner.cfg.connect_timeout,
                response_timeout: self.inner.cfg.response_timeout,
                buffer: self.inner.cfg.event_buffer,
            })
        })
    }

    pub(super) fn events_prefix(&self) -> &str {
        &self.inner.events_prefix
    }

    pub(super) fn kv_prefix(&self) -> &str {
        &self.inner.kv_prefix
    }
}
