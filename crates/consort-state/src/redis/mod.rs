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
//! # Versions
//!
//! Storing the version inside the value keeps `get` and `set` single plain
//! commands (`GET`, `SET`) as fast as raw redis-rs. Versions are made by the
//! client: `writer id << 20 | sequence`, where each backend takes a writer id
//! from `{ns}:meta:writers` (seeded with the clock, so ids stay unique even if
//! that counter is lost in a restart) and a fresh one every 2^20 writes.
//! Compare-and-set, leases and batches are Lua scripts (`EVALSHA`).

mod pubsub;
mod scripts;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::{Buf, Bytes};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisWrite, ServerErrorKind, ToRedisArgs, Value};
use tracing::{Instrument, debug_span};

use crate::backend::{
    Batch, Capabilities, Cursor, Delivery, Expect, Lease, Page, StateBackend, Subscription,
    Version, Versioned, WriteOp,
};
use crate::error::{Result, StateError};
use crate::key::{
    DEFAULT_MAX_VALUE_BYTES, MAX_KEY_BYTES, validate_batch, validate_key, validate_limit,
    validate_namespace, validate_ttl, validate_value, validate_write,
};

use pubsub::{Hub, HubConfig, SubscribeCmd, escape_pattern};

const BACKEND: &str = "redis";
const SEQ_BITS: u32 = 20;
const MAX_WRITER_ID: u64 = (1 << (64 - SEQ_BITS)) - 1;
/// SCAN round trips one `list` call may spend before returning a short page.
const MAX_SCANS_PER_PAGE: usize = 16;

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://[user[:password]@]host[:port][/db]`, or `rediss://` with the
    /// `redis-tls` feature. ACL user and password come from the URL.
    pub url: String,
    /// Namespace: prefix of every key and channel (ASCII letters, digits, `-_.:`).
    pub namespace: String,
    /// Limit for establishing a connection (also each reconnect attempt).
    pub connect_timeout: Duration,
    /// Limit for every request; exceeded calls fail with [`StateError::Timeout`].
    /// While the server is unreachable a call fails with
    /// [`StateError::Unavailable`] after at most two connect attempts, so the
    /// worst case for one call is `2 * connect_timeout + response_timeout`
    /// (plus a 50 ms back-off).
    pub response_timeout: Duration,
    /// Largest value accepted, in bytes (checked before sending). Default 16 MiB.
    pub max_value_bytes: usize,
    /// Messages buffered per subscription pattern before a slow subscriber
    /// gets [`Delivery::Lagged`]. Default 1024.
    pub event_buffer: usize,
}

impl RedisConfig {
    /// Defaults: 2 s connect and response timeouts, 16 MiB values.
    pub fn new(url: impl Into<String>, namespace: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            namespace: namespace.into(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            event_buffer: 1024,
        }
    }

    /// Sets both timeouts.
    pub fn with_timeouts(mut self, connect: Duration, response: Duration) -> Self {
        self.connect_timeout = connect;
        self.response_timeout = response;
        self
    }
}

/// The URL without its password, for logs and errors.
fn redact(url: &str) -> String {
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

#[derive(Debug)]
struct Versions {
    next: u64,
    end: u64,
}

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
/// existing [`Subscription`]s keep working across a Redis restart, but
/// messages published while disconnected are lost (at-most-once).
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

fn map_err(op: &'static str, what: &str, e: &RedisError, after: Duration) -> StateError {
    if e.is_timeout() {
        return StateError::Timeout {
            operation: op,
            key_or_topic: what.to_owned(),
            after,
        };
    }
    let detail = format!("{op} `{what}`: {e}");
    match e.kind() {
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ClusterDown,
        ) => StateError::Unavailable {
            backend: BACKEND,
            detail,
        },
        ErrorKind::Server(_)
        | ErrorKind::Parse
        | ErrorKind::UnexpectedReturnType
        | ErrorKind::Extension => StateError::Backend {
            backend: BACKEND,
            detail,
        },
        _ => StateError::Unavailable {
            backend: BACKEND,
            detail,
        },
    }
}

fn ttl_ms(ttl: Duration) -> u64 {
    // Redis has millisecond expiry: round sub-millisecond TTLs up rather than
    // to zero (which Redis rejects), and cap absurd ones.
    let ms = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).clamp(1, 1 << 52)
}

/// The stored form of a value: version then payload, written straight into
/// the command buffer without an intermediate copy.
struct Blob<'a> {
    version: Version,
    value: &'a [u8],
}

impl ToRedisArgs for Blob<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        use std::io::Write;
        let mut w = out.writer_for_next_arg();
        // Writing to the command's in-memory buffer cannot fail.
        let _ = w.write_all(&self.version.to_be_bytes());
        let _ = w.write_all(self.value);
    }
}

/// `{ns}:kv:{key}` written straight into the command buffer: building a
/// `String` per key first costs an allocation that raw redis-rs does not pay.
struct KvKey<'a> {
    prefix: &'a str,
    key: &'a str,
}

impl ToRedisArgs for KvKey<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        use std::io::Write;
        let mut w = out.writer_for_next_arg();
        let _ = w.write_all(self.prefix.as_bytes());
        let _ = w.write_all(self.key.as_bytes());
    }
}

fn decode(key: &str, raw: Vec<u8>) -> Result<Versioned> {
    if raw.len() < 8 {
        return Err(StateError::Corrupt {
            key: key.to_owned(),
            detail: format!(
                "{} bytes, shorter than the 8-byte version header",
                raw.len()
            ),
        });
    }
    let mut v = [0u8; 8];
    v.copy_from_slice(&raw[..8]);
    // advance() only moves the start pointer: no copy, no allocation.
    let mut value = Bytes::from(raw);
    value.advance(8);
    Ok(Versioned {
        value,
        version: u64::from_be_bytes(v),
    })
}

fn version_of(raw: &[u8]) -> Option<Version> {
    let b: [u8; 8] = raw.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(1)
}

fn expect_arg(e: Expect) -> Vec<u8> {
    match e {
        Expect::Absent => Vec::new(),
        Expect::Version(v) => v.to_be_bytes().to_vec(),
    }
}

fn unexpected(op: &'static str, what: &str, v: &Value) -> StateError {
    StateError::Backend {
        backend: BACKEND,
        detail: format!("{op} `{what}`: unexpected reply {v:?}"),
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

impl RedisBackend {
    /// Connects and reserves a writer id; fails with [`StateError::Unavailable`]
    /// or [`StateError::Timeout`] if the server cannot be reached in time.
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
            redis::Client::open(cfg.url.as_str()).map_err(|e| StateError::InvalidArgument {
                what: format!("redis url `{shown}`"),
                reason: e.to_string(),
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
            Ok(Err(e)) => return Err(map_err("connect", &shown, &e, limit)),
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
                versions: Mutex::new(Versions { next: 0, end: 0 }),
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

    fn kv<'a>(&'a self, key: &'a str) -> KvKey<'a> {
        KvKey {
            prefix: &self.inner.kv_prefix,
            key,
        }
    }

    fn ns_key(&self, kind: &str, key: &str) -> String {
        format!("{}:{kind}:{key}", self.inner.cfg.namespace)
    }

    fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    fn timeout(&self) -> Duration {
        self.inner.cfg.response_timeout
    }

    /// Maps redis errors to ours, naming the operation and key.
    ///
    /// No timer of our own here: the connection manager already bounds each
    /// request by the response timeout and each reconnect attempt by the
    /// connect timeout, and a second per-call tokio timer measurably cut
    /// throughput with many calls in flight (about 10% at 100 in flight).
    async fn run<T>(
        &self,
        op: &'static str,
        what: &str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T> {
        fut.await.map_err(|e| map_err(op, what, &e, self.timeout()))
    }

    /// `n` fresh versions, taking the lock once when the current block suffices.
    async fn next_versions(&self, n: usize) -> Result<Vec<Version>> {
        let mut out = Vec::with_capacity(n);
        {
            let mut v = self
                .inner
                .versions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let take = (v.end.saturating_sub(v.next)).min(n as u64);
            out.extend(v.next..v.next + take);
            v.next += take;
        }
        while out.len() < n {
            out.push(self.next_version().await?);
        }
        Ok(out)
    }

    async fn next_version(&self) -> Result<Version> {
        loop {
            {
                let mut v = self
                    .inner
                    .versions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if v.next < v.end {
                    let out = v.next;
                    v.next += 1;
                    return Ok(out);
                }
            }
            let key = self.ns_key("meta", "writers");
            let mut conn = self.conn();
            let mut inv = scripts::WRITER_ID.prepare_invoke();
            inv.key(&key).arg(unix_ms());
            let id: u64 = self
                .run("reserve writer id", &key, inv.invoke_async(&mut conn))
                .await?;
            if id == 0 || id > MAX_WRITER_ID {
                return Err(StateError::Corrupt {
                    key,
                    detail: format!("writer id {id} out of range 1..={MAX_WRITER_ID}"),
                });
            }
            let mut v = self
                .inner
                .versions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Another task may have refilled meanwhile; then this id is simply unused.
            if v.next >= v.end {
                v.next = (id << SEQ_BITS) | 1;
                v.end = (id + 1) << SEQ_BITS;
            }
        }
    }

    fn check_write(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<()> {
        validate_write(key, value.len(), ttl, self.inner.cfg.max_value_bytes)
    }

    fn hub(&self) -> &Hub {
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
}

#[async_trait]
impl StateBackend for RedisBackend {
    fn namespace(&self) -> &str {
        &self.inner.cfg.namespace
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
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
        validate_key(key)?;
        let k = self.kv(key);
        let mut conn = self.conn();
        let raw: Option<Vec<u8>> = self
            .run("get", key, redis::cmd("GET").arg(k).query_async(&mut conn))
            .instrument(debug_span!("state.get", backend = BACKEND, key))
            .await?;
        raw.map(|r| decode(key, r)).transpose()
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        for k in keys {
            validate_key(k)?;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(self.kv(k));
        }
        let mut conn = self.conn();
        let first = keys.first().map(String::as_str).unwrap_or_default();
        let raws: Vec<Option<Vec<u8>>> = self
            .run("get_many", first, cmd.query_async(&mut conn))
            .instrument(debug_span!(
                "state.get_many",
                backend = BACKEND,
                n = keys.len()
            ))
            .await?;
        if raws.len() != keys.len() {
            return Err(StateError::Backend {
                backend: BACKEND,
                detail: format!("MGET of {} keys returned {} values", keys.len(), raws.len()),
            });
        }
        raws.into_iter()
            .zip(keys)
            .map(|(r, k)| r.map(|r| decode(k, r)).transpose())
            .collect()
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Version> {
        self.check_write(key, &value, ttl)?;
        let version = self.next_version().await?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.kv(key)).arg(Blob {
            version,
            value: &value,
        });
        if let Some(t) = ttl {
            cmd.arg("PX").arg(ttl_ms(t));
        }
        let mut conn = self.conn();
        let () = self
            .run("set", key, cmd.exec_async(&mut conn))
            .instrument(debug_span!("state.set", backend = BACKEND, key))
            .await?;
        Ok(version)
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        let mut conn = self.conn();
        let n: i64 = self
            .run(
                "delete",
                key,
                redis::cmd("DEL").arg(self.kv(key)).query_async(&mut conn),
            )
            .instrument(debug_span!("state.delete", backend = BACKEND, key))
            .await?;
        Ok(n > 0)
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expect: Expect,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        self.check_write(key, &value, ttl)?;
        let version = self.next_version().await?;
        let mut inv = scripts::CAS.prepare_invoke();
        inv.key(self.kv(key))
            .arg(expect_arg(expect))
            .arg(Blob {
                version,
                value: &value,
            })
            .arg(ttl.map_or(0, ttl_ms));
        let mut conn = self.conn();
        let reply: Vec<Value> = self
            .run("compare_and_set", key, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.compare_and_set", backend = BACKEND, key))
            .await?;
        match reply.first().and_then(as_int) {
            Some(1) => Ok(version),
            Some(0) => Err(StateError::VersionConflict {
                key: key.to_owned(),
                expected: expect,
                actual: reply.get(1).and_then(as_bytes).and_then(version_of),
            }),
            _ => Err(unexpected("compare_and_set", key, &Value::Array(reply))),
        }
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        validate_key(key)?;
        let mut conn = self.conn();
        let res: Result<i64> = self
            .run(
                "increment",
                key,
                redis::cmd("INCRBY")
                    .arg(self.ns_key("ctr", key))
                    .arg(delta)
                    .query_async(&mut conn),
            )
            .instrument(debug_span!("state.increment", backend = BACKEND, key))
            .await;
        match res {
            Err(StateError::Backend { detail, .. }) if detail.contains("overflow") => {
                Err(StateError::InvalidArgument {
                    what: format!("increment of counter `{key}` by {delta}"),
                    reason: "overflows i64".to_owned(),
                })
            }
            other => other,
        }
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        validate_key(key)?;
        validate_ttl(key, ttl)?;
        let mut conn = self.conn();
        let n: i64 = self
            .run(
                "expire",
                key,
                redis::cmd("PEXPIRE")
                    .arg(self.kv(key))
                    .arg(ttl_ms(ttl))
                    .query_async(&mut conn),
            )
            .instrument(debug_span!("state.expire", backend = BACKEND, key))
            .await?;
        Ok(n == 1)
    }

    async fn list(&self, prefix: &str, cursor: Option<&Cursor>, limit: usize) -> Result<Page> {
        let limit = validate_limit(prefix, limit)?;
        if !prefix.is_empty() {
            validate_key(prefix)?;
        }
        // Cursor: "{scan cursor}:{matches of that SCAN batch already returned}".
        // Re-running SCAN from the same cursor yields the same batch while
        // the keyspace is unchanged, which lets one batch span pages.
        let (mut scan, mut skip) = match cursor {
            None => (0u64, 0usize),
            Some(c) => {
                c.0.split_once(':')
                    .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
                    .ok_or_else(|| StateError::InvalidArgument {
                        what: format!("cursor for listing `{prefix}`"),
                        reason: format!("`{}` is not a cursor returned by this backend", c.0),
                    })?
            }
        };
        let pattern = format!("{}{}*", self.inner.kv_prefix, escape_pattern(prefix));
        let strip = self.inner.kv_prefix.len();
        let mut keys = Vec::new();
        let mut seen = HashSet::new();
        let span = debug_span!("state.list", backend = BACKEND, prefix);
        for _ in 0..MAX_SCANS_PER_PAGE {
            let mut conn = self.conn();
            let (next, batch): (u64, Vec<Vec<u8>>) = self
                .run(
                    "list",
                    prefix,
                    redis::cmd("SCAN")
                        .arg(scan)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(limit.max(100))
                        .query_async(&mut conn),
                )
                .instrument(span.clone())
                .await?;
            let fresh: Vec<String> = batch
                .into_iter()
                .skip(skip)
                .filter_map(|k| String::from_utf8(k.get(strip..)?.to_vec()).ok())
                .collect();
            let room = limit - keys.len();
            if fresh.len() > room {
                let taken = skip + room;
                for k in fresh.into_iter().take(room) {
                    if seen.insert(k.clone()) {
                        keys.push(k);
                    }
                }
                return Ok(Page {
                    keys,
                    next: Some(Cursor(format!("{scan}:{taken}"))),
                });
            }
            for k in fresh {
                if seen.insert(k.clone()) {
                    keys.push(k);
                }
            }
            skip = 0;
            scan = next;
            if scan == 0 {
                return Ok(Page { keys, next: None });
            }
            if keys.len() == limit {
                break;
            }
        }
        Ok(Page {
            keys,
            next: Some(Cursor(format!("{scan}:0"))),
        })
    }

    async fn apply(&self, batch: Batch) -> Result<Vec<Option<Version>>> {
        validate_batch(&batch, self.inner.cfg.max_value_bytes)?;
        if batch.ops.is_empty() && batch.guard.is_none() {
            return Ok(Vec::new());
        }
        let writes = batch
            .ops
            .iter()
            .filter(|op| !matches!(op, WriteOp::Delete { .. }))
            .count();
        let mut fresh = self.next_versions(writes).await?.into_iter();
        let versions: Vec<Option<Version>> = batch
            .ops
            .iter()
            .map(|op| match op {
                WriteOp::Delete { .. } => None,
                _ => fresh.next(),
            })
            .collect();
        let what = batch
            .ops
            .first()
            .map(WriteOp::key)
            .unwrap_or("(empty batch)");
        let span = debug_span!("state.apply", backend = BACKEND, ops = batch.ops.len());
        let plain = batch.guard.is_none()
            && batch
                .ops
                .iter()
                .all(|op| !matches!(op, WriteOp::CompareAndSet { .. }));
        let only_sets = batch
            .ops
            .iter()
            .all(|op| matches!(op, WriteOp::Set { ttl: None, .. }));
        if plain && only_sets {
            // MSET is atomic and the cheapest way to write many keys.
            let mut cmd = redis::cmd("MSET");
            for (op, version) in batch.ops.iter().zip(&versions) {
                if let WriteOp::Set { key, value, .. } = op {
                    let version = version.unwrap_or_default();
                    cmd.arg(self.kv(key)).arg(Blob { version, value });
                }
            }
            let mut conn = self.conn();
            let () = self
                .run("apply", what, cmd.exec_async(&mut conn))
                .instrument(span)
                .await?;
            return Ok(versions);
        }
        if plain {
            // Nothing to check first: a MULTI/EXEC transaction is atomic and
            // much cheaper for the server than the script.
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (op, version) in batch.ops.iter().zip(&versions) {
                match op {
                    WriteOp::Delete { key } => {
                        pipe.cmd("DEL").arg(self.kv(key)).ignore();
                    }
                    WriteOp::Set { key, value, ttl }
                    | WriteOp::CompareAndSet {
                        key, value, ttl, ..
                    } => {
                        let version = version.unwrap_or_default();
                        let c = pipe
                            .cmd("SET")
                            .arg(self.kv(key))
                            .arg(Blob { version, value });
                        if let Some(t) = ttl {
                            c.arg("PX").arg(ttl_ms(*t));
                        }
                        c.ignore();
                    }
                }
            }
            let mut conn = self.conn();
            let () = self
                .run("apply", what, pipe.exec_async(&mut conn))
                .instrument(span)
                .await?;
            return Ok(versions);
        }
        let mut inv = scripts::APPLY.prepare_invoke();
        match &batch.guard {
            Some(g) => {
                inv.key(self.ns_key("lease", &g.name)).arg("1").arg(g.token);
            }
            None => {
                inv.arg("0").arg("");
            }
        }
        for (op, version) in batch.ops.iter().zip(&versions) {
            inv.key(self.kv(op.key()));
            match op {
                WriteOp::Delete { .. } => {
                    inv.arg("D").arg("").arg("").arg(0);
                }
                WriteOp::Set { value, ttl, .. } => {
                    let version = version.unwrap_or_default();
                    inv.arg("S")
                        .arg("")
                        .arg(Blob { version, value })
                        .arg(ttl.map_or(0, ttl_ms));
                }
                WriteOp::CompareAndSet {
                    expect, value, ttl, ..
                } => {
                    let version = version.unwrap_or_default();
                    inv.arg("C")
                        .arg(expect_arg(*expect))
                        .arg(Blob { version, value })
                        .arg(ttl.map_or(0, ttl_ms));
                }
            }
        }
        let mut conn = self.conn();
        let reply: Vec<Value> = self
            .run("apply", what, inv.invoke_async(&mut conn))
            .instrument(span)
            .await?;
        match reply.first().and_then(as_bytes) {
            Some(b"ok") => Ok(versions),
            Some(b"lease") => {
                let g = batch.guard.as_ref();
                Err(StateError::LeaseLost {
                    name: g.map(|g| g.name.to_string()).unwrap_or_default(),
                    token: g.map_or(0, |g| g.token),
                })
            }
            Some(b"conflict") => {
                let idx = reply
                    .get(1)
                    .and_then(as_int)
                    .and_then(|i| usize::try_from(i).ok());
                match idx.and_then(|i| batch.ops.get(i)) {
                    Some(WriteOp::CompareAndSet { key, expect, .. }) => {
                        Err(StateError::VersionConflict {
                            key: key.clone(),
                            expected: *expect,
                            actual: reply.get(2).and_then(as_bytes).and_then(version_of),
                        })
                    }
                    _ => Err(unexpected("apply", what, &Value::Array(reply))),
                }
            }
            _ => Err(unexpected("apply", what, &Value::Array(reply))),
        }
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<()> {
        validate_key(topic)?;
        validate_value(topic, payload.len(), self.inner.cfg.max_value_bytes)?;
        let channel = format!("{}{topic}", self.inner.events_prefix);
        let mut conn = self.conn();
        let _receivers: i64 = self
            .run(
                "publish",
                topic,
                redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(payload.as_ref())
                    .query_async(&mut conn),
            )
            .instrument(debug_span!("state.publish", backend = BACKEND, topic))
            .await?;
        Ok(())
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        validate_key(pattern)?;
        let span = debug_span!("state.subscribe", backend = BACKEND, pattern);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let cmd = SubscribeCmd {
            pattern: format!("{}{}", self.inner.events_prefix, escape_pattern(pattern)),
            reply: tx,
        };
        if self.hub().commands.send(cmd).is_err() {
            return Err(StateError::Unavailable {
                backend: BACKEND,
                detail: format!("subscribe `{pattern}`: pub/sub task has stopped"),
            });
        }
        let after = self.inner.cfg.connect_timeout + self.inner.cfg.response_timeout;
        let receiver = match tokio::time::timeout(after, rx).instrument(span).await {
            Ok(Ok(Ok(r))) => r,
            Ok(Ok(Err(e))) => return Err(map_err("subscribe", pattern, &e, after)),
            Ok(Err(_)) => {
                return Err(StateError::Unavailable {
                    backend: BACKEND,
                    detail: format!("subscribe `{pattern}`: pub/sub task has stopped"),
                });
            }
            Err(_) => {
                return Err(StateError::Timeout {
                    operation: "subscribe",
                    key_or_topic: pattern.to_owned(),
                    after,
                });
            }
        };
        Ok(crate::backend::broadcast_subscription(
            receiver,
            |d: &Delivery| Some(d.clone()),
        ))
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        validate_key(name)?;
        validate_key(holder)?;
        validate_ttl(name, ttl)?;
        let mut inv = scripts::LEASE_ACQUIRE.prepare_invoke();
        inv.key(self.ns_key("lease", name))
            .key(self.ns_key("fence", name))
            .arg(holder)
            .arg(ttl_ms(ttl));
        let mut conn = self.conn();
        let reply: Vec<Value> = self
            .run("acquire_lease", name, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.acquire_lease", backend = BACKEND, name))
            .await?;
        match (
            reply.first().and_then(as_int),
            reply.get(1).and_then(as_int),
        ) {
            (Some(0), _) => Ok(None),
            (Some(1), Some(token)) => Ok(Some(Lease {
                name: name.to_owned(),
                holder: holder.to_owned(),
                token: u64::try_from(token).unwrap_or_default(),
                ttl,
            })),
            _ => Err(unexpected("acquire_lease", name, &Value::Array(reply))),
        }
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        validate_key(&lease.name)?;
        validate_ttl(&lease.name, ttl)?;
        let mut inv = scripts::LEASE_RENEW.prepare_invoke();
        inv.key(self.ns_key("lease", &lease.name))
            .arg(&lease.holder)
            .arg(lease.token)
            .arg(ttl_ms(ttl));
        let mut conn = self.conn();
        let ok: i64 = self
            .run("renew_lease", &lease.name, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.renew_lease", backend = BACKEND, name = %lease.name))
            .await?;
        if ok == 1 {
            Ok(Lease {
                ttl,
                ..lease.clone()
            })
        } else {
            Err(StateError::LeaseLost {
                name: lease.name.clone(),
                token: lease.token,
            })
        }
    }

    async fn release_lease(&self, lease: &Lease) -> Result<bool> {
        validate_key(&lease.name)?;
        let mut inv = scripts::LEASE_RELEASE.prepare_invoke();
        inv.key(self.ns_key("lease", &lease.name))
            .arg(&lease.holder)
            .arg(lease.token);
        let mut conn = self.conn();
        let ok: i64 = self
            .run("release_lease", &lease.name, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.release_lease", backend = BACKEND, name = %lease.name))
            .await?;
        Ok(ok == 1)
    }

    async fn current_lease(&self, name: &str) -> Result<Option<Lease>> {
        validate_key(name)?;
        let k = self.ns_key("lease", name);
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(&k)
            .arg("holder")
            .arg("token")
            .cmd("PTTL")
            .arg(&k);
        let mut conn = self.conn();
        let (fields, pttl): (Vec<Option<String>>, i64) = self
            .run("current_lease", name, pipe.query_async(&mut conn))
            .instrument(debug_span!("state.current_lease", backend = BACKEND, name))
            .await?;
        let (Some(Some(holder)), Some(Some(token))) = (fields.first(), fields.get(1)) else {
            return Ok(None);
        };
        if pttl <= 0 {
            return Ok(None);
        }
        Ok(Some(Lease {
            name: name.to_owned(),
            holder: holder.clone(),
            token: token.parse().unwrap_or_default(),
            ttl: Duration::from_millis(u64::try_from(pttl).unwrap_or_default()),
        }))
    }
}
