//! [`RedisBackend`]: the [`StateBackend`] shared across processes.
//!
//! # Key scheme
//!
//! Everything of namespace `ns` lives under `ns:`, in the spirit of the
//! coordination proposal's `mcp:servers:registry` / `mcp:events:*`:
//!
//! | what | Redis key / channel | type |
//! |---|---|---|
//! | value `k` | `{ns}:kv:{k}` | string: 8-byte big-endian version, then the value |
//! | counter `k` | `{ns}:ctr:{k}` | string (INCRBY) |
//! | lease `n` | `{ns}:lease:{n}` | hash `holder`, `token`, with PEXPIRE |
//! | fencing counter of lease `n` | `{ns}:fence:{n}` | string (INCR), never expires |
//! | writer ids for versions | `{ns}:meta:writers` | string (INCR) |
//! | topic `t` | channel `{ns}:events:{t}` | pub/sub |
//!
//! So namespace `mcp` stores value `servers:registry` at
//! `mcp:kv:servers:registry` and publishes topic `tasks` on `mcp:events:tasks`.
//!
//! # Layout of this module
//!
//! One concern per file: `config` (what to connect to), `connection`
//! (connecting, running a command, error context), `errors` (which redis
//! errors are transient), `codec` (values and keys on the wire), `versions`
//! (client-made versions), `kv` (single-key values and counters), `listing`,
//! `batches`, `leases`, `events` (publish and subscribe) over `pubsub` (the
//! task owning the subscriber connection), and `scripts` (the Lua).

mod batches;
mod codec;
mod config;
mod connection;
mod errors;
mod events;
mod kv;
mod leases;
mod listing;
mod pubsub;
mod scripts;
mod versions;

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use redis::aio::ConnectionManager;

use crate::backend::{
    Batch, Capabilities, Cursor, Expect, Lease, Page, StateBackend, Subscription, Version,
    Versioned,
};
use crate::error::Result;
use crate::key::MAX_KEY_BYTES;

pub use config::RedisConfig;
use config::redact;
use pubsub::Hub;
use versions::Versions;

const BACKEND: &str = "redis";

struct Inner {
    cfg: RedisConfig,
    client: redis::Client,
    conn: ConnectionManager,
    kv_prefix: String,
    events_prefix: String,
    versions: Mutex<Versions>,
    hub: OnceLock<Hub>,
}

/// A [`StateBackend`] on Redis (feature `redis`): shared by every process
/// using the same server and namespace. Cheap to clone.
///
/// Uses one multiplexed connection ([`ConnectionManager`], reconnecting
/// automatically) for commands and, from the first `subscribe`, one
/// dedicated pub/sub connection whose task re-subscribes after reconnects:
/// existing [`Subscription`]s keep working across a Redis restart, and get
/// [`Delivery::Lagged`](crate::Delivery::Lagged) `{ missed: None }` for the
/// messages published while the connection was down.
///
/// Calls do not retry by themselves: during an outage they fail promptly
/// with a transient error (see [`StateError::is_transient`](crate::StateError::is_transient)),
/// and [`retry`](crate::retry) rides through it.
#[derive(Clone)]
pub struct RedisBackend {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackend")
            .field("url", &redact(&self.inner.cfg.url))
            .field("namespace", &self.inner.cfg.namespace)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl StateBackend for RedisBackend {
    fn namespace(&self) -> &str {
        &self.inner.cfg.namespace
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: "redis",
            ttl: true,
            cas: true,
            leases: true,
            pubsub: true,
            pattern_subscribe: true,
            durable: true,
            shared_across_processes: true,
            max_value_bytes: self.inner.cfg.max_value_bytes,
            max_key_bytes: MAX_KEY_BYTES,
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Versioned>> {
        self.kv_get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        self.kv_get_many(keys).await
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Version> {
        self.kv_set(key, &value, ttl).await
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        self.kv_delete(key).await
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expect: Expect,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        self.kv_compare_and_set(key, expect, &value, ttl).await
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.counter_increment(key, delta).await
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.kv_expire(key, ttl).await
    }

    async fn time_to_live(&self, keys: &[String]) -> Result<Vec<Option<Duration>>> {
        self.kv_time_to_live(keys).await
    }

    async fn list(&self, prefix: &str, cursor: Option<&Cursor>, limit: usize) -> Result<Page> {
        self.list_page(prefix, cursor, limit).await
    }

    async fn apply(&self, batch: Batch) -> Result<Vec<Option<Version>>> {
        self.apply_batch(&batch).await
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<()> {
        self.publish_event(topic, &payload).await
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        self.subscribe_pattern(pattern).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        self.lease_acquire(name, holder, ttl).await
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        self.lease_renew(lease, ttl).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<bool> {
        self.lease_release(lease).await
    }

    async fn current_lease(&self, name: &str) -> Result<Option<Lease>> {
        self.lease_current(name).await
    }
}
