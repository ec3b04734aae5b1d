//! In-process backend: [`MemoryStore`] and [`MemoryBackend`].

mod leases;
mod listeners;
mod map;
mod sweeper;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use smallvec::SmallVec;
use tokio::sync::broadcast;
use tracing::debug_span;

use crate::backend::{
    Batch, Capabilities, Cursor, Delivery, Expect, Lease, Page, StateBackend, Subscription,
    Version, Versioned, WriteOp,
};
use crate::error::{Result, StateError};
use crate::key::{
    DEFAULT_MAX_VALUE_BYTES, MAX_KEY_BYTES, glob_match, validate_batch, validate_key,
    validate_limit, validate_namespace, validate_ttl, validate_value, validate_write,
};

use leases::Leases;
use listeners::Listeners;
use map::{Entry, Hashed, ShardedMap, StoredKey, TakeHash, shard_of};
use sweeper::Sweeper;

/// Writes in a batch whose scratch needs no heap in [`MemoryBackend::apply`].
const SMALL_BATCH: usize = 4;

/// Tuning for a [`MemoryStore`].
///
/// Defaults (see [`Default`]): 16 MiB values, 1024 buffered events, a sweep
/// of expired keys every second. Set fields with the `with_*` methods; new
/// fields only ever come with a default.
///
/// ```
/// use std::time::Duration;
/// use consort_state::{MemoryConfig, MemoryStore};
///
/// let store = MemoryStore::with_config(
///     MemoryConfig::default().with_sweep_interval(Duration::from_millis(100)),
/// );
/// # drop(store);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryConfig {
    /// Largest value accepted, in bytes. Default 16 MiB.
    pub max_value_bytes: usize,
    /// Messages buffered per namespace for slow subscribers before they get
    /// [`Delivery::Lagged`]. Default 1024.
    pub event_buffer: usize,
    /// How often expired keys are swept from memory (they are never returned
    /// either way). Default 1 s.
    pub sweep_interval: Duration,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            event_buffer: 1024,
            sweep_interval: Duration::from_secs(1),
        }
    }
}

impl MemoryConfig {
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

    /// Sets [`sweep_interval`](Self::sweep_interval).
    #[must_use]
    pub fn with_sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every;
        self
    }
}

type Event = Arc<(String, Bytes)>;

#[derive(Debug)]
struct NsData {
    name: String,
    kv: ShardedMap,
    // One counter per namespace is enough for "never reused for that key".
    next_version: AtomicU64,
    counters: Mutex<HashMap<String, i64>>,
    leases: Mutex<Leases>,
    events: broadcast::Sender<Event>,
    listeners: Arc<Listeners>,
    max_value_bytes: usize,
    sweeper: Sweeper,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section is a few in-memory updates that cannot panic
    // half-way in a way that breaks invariants, so a poisoned lock is usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NsData {
    #[inline]
    fn version(&self) -> Version {
        self.next_version.fetch_add(1, Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct StoreInner {
    config: MemoryConfig,
    namespaces: Mutex<HashMap<String, Arc<NsData>>>,
}

/// A process-local store holding any number of namespaces.
///
/// Open a namespace with [`MemoryStore::namespace`]; backends opened on the
/// same store and namespace share data, different namespaces are isolated.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<StoreInner>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store with [`MemoryConfig::default`].
    pub fn new() -> Self {
        Self::with_config(MemoryConfig::default())
    }

    /// A store with the given tuning.
    pub fn with_config(config: MemoryConfig) -> Self {
        MemoryStore {
            inner: Arc::new(StoreInner {
                config,
                namespaces: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Opens (creating on first use) namespace `ns`.
    ///
    /// A sweep task frees the namespace's expired keys while it is alive.
    /// It starts on the first open inside a tokio runtime, or else on the
    /// first write from one that can leave a key expiring, and again after
    /// its runtime shut down.
    pub fn namespace(&self, ns: &str) -> Result<MemoryBackend> {
        validate_namespace(ns)?;
        let mut map = lock(&self.inner.namespaces);
        let data = match map.get(ns) {
            Some(d) => d.clone(),
            None => {
                let cfg = &self.inner.config;
                let (events, _) = broadcast::channel(cfg.event_buffer.max(1));
                let d = Arc::new(NsData {
                    name: ns.to_owned(),
                    kv: ShardedMap::new(),
                    next_version: AtomicU64::new(1),
                    counters: Mutex::new(HashMap::new()),
                    leases: Mutex::new(Leases::default()),
                    events,
                    listeners: Arc::default(),
                    max_value_bytes: cfg.max_value_bytes,
                    sweeper: Sweeper::new(cfg.sweep_interval),
                });
                Sweeper::ensure(&d);
                map.insert(ns.to_owned(), d.clone());
                d
            }
        };
        Ok(MemoryBackend {
            ns: data,
            _store: self.clone(),
        })
    }
}

/// A [`StateBackend`] living in this process's memory.
///
/// Fast (tens of nanoseconds per get/set), exact expiry, and not durable.
/// Cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> consort_state::Result<()> {
/// use consort_state::{MemoryStore, StateBackend};
/// let store = MemoryStore::new();
/// let a = store.namespace("a")?;
/// let b = store.namespace("b")?;
/// a.set("k", "1".into(), None).await?;
/// assert!(b.get("k").await?.is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryBackend {
    ns: Arc<NsData>,
    // Keeps the namespace table (and so other namespaces' data) alive as long
    // as any backend of the store is.
    _store: MemoryStore,
}

impl MemoryBackend {
    /// A backend on a fresh private store.
    pub fn new(namespace: &str) -> Result<Self> {
        MemoryStore::new().namespace(namespace)
    }

    /// Number of stored entries, counting expired ones not yet swept (for tests of the sweep).
    pub fn stored_entries(&self) -> usize {
        self.ns.kv.len_including_expired()
    }

    /// When an entry written now with `ttl` expires; makes sure a sweep
    /// will free it.
    fn expiry(&self, ttl: Option<Duration>) -> Option<Instant> {
        if ttl.is_some() {
            Sweeper::ensure(&self.ns);
        }
        // A TTL too large for Instant is as good as no expiry.
        ttl.and_then(|t| Instant::now().checked_add(t))
    }

    fn check_write(&self, key: &str, value: &Bytes, ttl: Option<Duration>) -> Result<()> {
        validate_write(key, value.len(), ttl, self.ns.max_value_bytes)
    }

    /// The version each op of a batch leaves, after checking every
    /// compare-and-set against the stored state (`stored`) as changed by the
    /// ops before it, so that a late failure leaves nothing written.
    fn check_expectations<'k>(
        &self,
        ops: &'k [WriteOp],
        hashes: &[u64],
        stored: impl Fn(u64, &Hashed<'k>) -> Option<Version>,
    ) -> Result<Vec<Option<Version>>> {
        let mut overlay: HashMap<Hashed<'_>, Option<Version>, BuildHasherDefault<TakeHash>> =
            HashMap::with_capacity_and_hasher(ops.len(), BuildHasherDefault::default());
        let mut versions = Vec::with_capacity(ops.len());
        for (op, &hash) in ops.iter().zip(hashes) {
            let key = op.key();
            let h = Hashed::new(hash, key);
            let current = match overlay.get(&h) {
                Some(v) => *v,
                None => stored(hash, &h),
            };
            let after = match op {
                WriteOp::Delete { .. } => None,
                WriteOp::Set { .. } => Some(self.ns.version()),
                WriteOp::CompareAndSet { expect, .. } => {
                    check_expect(key, *expect, current)?;
                    Some(self.ns.version())
                }
            };
            overlay.insert(h, after);
            versions.push(after);
        }
        Ok(versions)
    }

    fn read(&self, key: &str) -> Option<Versioned> {
        let h = self.ns.kv.hash(key);
        let shard = self.ns.kv.read(h.shard());
        let e = shard.get(h.q())?;
        e.live().then(|| Versioned {
            value: e.value.clone(),
            version: e.version,
        })
    }
}

/// The positions of the set bits of `bits`, ascending.
fn set_bits(mut bits: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let at = bits.trailing_zeros() as usize;
        bits &= bits.checked_sub(1)?;
        Some(at)
    })
}

fn check_expect(key: &str, expect: Expect, actual: Option<Version>) -> Result<()> {
    let ok = match expect {
        Expect::Absent => actual.is_none(),
        Expect::Version(v) => actual == Some(v),
    };
    if ok {
        Ok(())
    } else {
        Err(StateError::VersionConflict {
            key: key.to_owned(),
            expected: expect,
            actual,
        })
    }
}

#[async_trait]
impl StateBackend for MemoryBackend {
    fn namespace(&self) -> &str {
        &self.ns.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: "memory",
            ttl: true,
            cas: true,
            leases: true,
            pubsub: true,
            pattern_subscribe: true,
            durable: false,
            shared_across_processes: false,
            max_value_bytes: self.ns.max_value_bytes,
            max_key_bytes: MAX_KEY_BYTES,
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Versioned>> {
        let _s = debug_span!("state.get", backend = "memory", key).entered();
        validate_key(key)?;
        Ok(self.read(key))
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        let _s = debug_span!("state.get_many", backend = "memory", n = keys.len()).entered();
        for k in keys {
            validate_key(k)?;
        }
        Ok(keys.iter().map(|k| self.read(k)).collect())
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Version> {
        let _s = debug_span!("state.set", backend = "memory", key).entered();
        self.check_write(key, &value, ttl)?;
        let version = self.ns.version();
        let entry = Entry {
            value,
            version,
            expires_at: self.expiry(ttl),
        };
        let h = self.ns.kv.hash(key);
        let mut shard = self.ns.kv.write(h.shard());
        // get_mut first: overwriting an existing key then needs no String allocation.
        if let Some(e) = shard.get_mut(h.q()) {
            *e = entry;
        } else {
            shard.insert(h.to_stored(), entry);
        }
        Ok(version)
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let _s = debug_span!("state.delete", backend = "memory", key).entered();
        validate_key(key)?;
        let h = self.ns.kv.hash(key);
        let mut shard = self.ns.kv.write(h.shard());
        Ok(shard.remove(h.q()).is_some_and(|e| e.live()))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expect: Expect,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        let _s = debug_span!("state.compare_and_set", backend = "memory", key).entered();
        self.check_write(key, &value, ttl)?;
        let h = self.ns.kv.hash(key);
        let mut shard = self.ns.kv.write(h.shard());
        let actual = shard.get(h.q()).filter(|e| e.live()).map(|e| e.version);
        check_expect(key, expect, actual)?;
        let version = self.ns.version();
        shard.insert(
            h.to_stored(),
            Entry {
                value,
                version,
                expires_at: self.expiry(ttl),
            },
        );
        Ok(version)
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let _s = debug_span!("state.increment", backend = "memory", key).entered();
        validate_key(key)?;
        let mut counters = lock(&self.ns.counters);
        let slot = counters.entry(key.to_owned()).or_insert(0);
        let next = slot
            .checked_add(delta)
            .ok_or_else(|| StateError::InvalidArgument {
                what: format!("increment of counter `{key}` by {delta}"),
                reason: format!("overflows i64 (current value {slot})"),
            })?;
        *slot = next;
        Ok(next)
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        let _s = debug_span!("state.expire", backend = "memory", key).entered();
        validate_key(key)?;
        validate_ttl(key, ttl)?;
        let h = self.ns.kv.hash(key);
        let mut shard = self.ns.kv.write(h.shard());
        match shard.get_mut(h.q()) {
            Some(e) if e.live() => {
                e.expires_at = self.expiry(Some(ttl));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn time_to_live(&self, keys: &[String]) -> Result<Vec<Option<Duration>>> {
        let _s = debug_span!("state.time_to_live", backend = "memory", n = keys.len()).entered();
        for k in keys {
            validate_key(k)?;
        }
        let now = Instant::now();
        Ok(keys
            .iter()
            .map(|k| {
                let h = self.ns.kv.hash(k);
                let shard = self.ns.kv.read(h.shard());
                let at = shard.get(h.q())?.expires_at?;
                (now < at).then(|| at - now)
            })
            .collect())
    }

    async fn list(&self, prefix: &str, cursor: Option<&Cursor>, limit: usize) -> Result<Page> {
        let _s = debug_span!("state.list", backend = "memory", prefix).entered();
        let limit = validate_limit(prefix, limit)?;
        let after = cursor.map(|c| c.0.as_str());
        let now = Instant::now();
        let mut keys: Vec<String> = Vec::new();
        for idx in 0..self.ns.kv.shard_count() {
            let shard = self.ns.kv.read(idx);
            keys.extend(
                shard
                    .iter()
                    .map(|(k, e)| (k.as_str(), e))
                    .filter(|(k, e)| {
                        k.starts_with(prefix) && after.is_none_or(|a| *k > a) && e.live_at(now)
                    })
                    .map(|(k, _)| k.to_owned()),
            );
        }
        // Sorted pages with "strictly after the last key" cursors give
        // exactly-once listing even while other keys come and go.
        let more = keys.len() > limit;
        if more {
            keys.select_nth_unstable(limit);
            keys.truncate(limit);
        }
        keys.sort_unstable();
        let next = if more {
            keys.last().map(|k| Cursor(k.clone()))
        } else {
            None
        };
        Ok(Page { keys, next })
    }

    async fn apply(&self, batch: Batch) -> Result<Vec<Option<Version>>> {
        let _s = debug_span!("state.apply", backend = "memory", ops = batch.ops.len()).entered();
        validate_batch(&batch, self.ns.max_value_bytes)?;
        // Lock order everywhere: leases, then shards in ascending index.
        let leases = batch.guard.as_ref().map(|_| lock(&self.ns.leases));
        if let (Some(l), Some(g)) = (&leases, &batch.guard) {
            l.check_guard(g)?;
        }
        // Each key is hashed once; the hash picks its shard and finds it there.
        // Most batches are a few writes (a workflow turn is two): their
        // scratch stays on the stack.
        let hashes: SmallVec<[u64; SMALL_BATCH]> = batch
            .ops
            .iter()
            .map(|op| self.ns.kv.hash(op.key()).hash())
            .collect();
        // Shards to lock, as bits: ascending bit order is the lock order, and
        // a shard's guard sits at the number of locked shards below it.
        let locked = hashes.iter().fold(0u64, |m, &h| m | 1 << shard_of(h));
        let mut guards: SmallVec<[_; SMALL_BATCH]> =
            set_bits(locked).map(|s| self.ns.kv.write(s)).collect();
        let slot = |hash: u64| (locked & ((1 << shard_of(hash)) - 1)).count_ones() as usize;

        // Only a compare-and-set can fail once keys and values are valid:
        // without one, nothing needs checking before writing.
        let versions = if batch
            .ops
            .iter()
            .any(|op| matches!(op, WriteOp::CompareAndSet { .. }))
        {
            self.check_expectations(&batch.ops, &hashes, |hash, h| {
                guards[slot(hash)]
                    .get(h.q())
                    .filter(|e| e.live())
                    .map(|e| e.version)
            })?
        } else {
            batch
                .ops
                .iter()
                .map(|op| match op {
                    WriteOp::Delete { .. } => None,
                    WriteOp::Set { .. } | WriteOp::CompareAndSet { .. } => Some(self.ns.version()),
                })
                .collect()
        };
        for ((op, &hash), version) in batch.ops.into_iter().zip(&hashes).zip(&versions) {
            let g = &mut guards[slot(hash)];
            match op {
                WriteOp::Delete { key } => {
                    g.remove(Hashed::new(hash, &key).q());
                }
                WriteOp::Set { key, value, ttl }
                | WriteOp::CompareAndSet {
                    key, value, ttl, ..
                } => {
                    g.insert(
                        StoredKey::new(hash, key),
                        Entry {
                            value,
                            version: version.unwrap_or_default(),
                            expires_at: self.expiry(ttl),
                        },
                    );
                }
            }
        }
        drop(guards);
        drop(leases);
        Ok(versions)
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<()> {
        let _s = debug_span!("state.publish", backend = "memory", topic).entered();
        validate_key(topic)?;
        validate_value(topic, payload.len(), self.ns.max_value_bytes)?;
        // No receivers is not an error: pub/sub is fire-and-forget.
        let _ = self.ns.events.send(Arc::new((topic.to_owned(), payload)));
        Ok(())
    }

    fn may_have_subscribers(&self, topic: &str) -> bool {
        self.ns.listeners.any_for(topic)
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        let _s = debug_span!("state.subscribe", backend = "memory", pattern).entered();
        validate_key(pattern)?;
        let rx = self.ns.events.subscribe();
        let listening = self.ns.listeners.listen(pattern);
        Ok(crate::backend::broadcast_subscription(
            rx,
            move |ev: &Event| {
                glob_match(listening.pattern(), &ev.0).then(|| Delivery::Message {
                    topic: ev.0.clone(),
                    payload: ev.1.clone(),
                })
            },
        ))
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let _s = debug_span!("state.acquire_lease", backend = "memory", name).entered();
        validate_key(name)?;
        validate_key(holder)?;
        validate_ttl(name, ttl)?;
        Sweeper::ensure(&self.ns);
        Ok(lock(&self.ns.leases).acquire(name, holder, ttl))
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        let _s = debug_span!("state.renew_lease", backend = "memory", name = %lease.name).entered();
        validate_key(&lease.name)?;
        validate_ttl(&lease.name, ttl)?;
        Sweeper::ensure(&self.ns);
        lock(&self.ns.leases).renew(lease, ttl)
    }

    async fn release_lease(&self, lease: &Lease) -> Result<bool> {
        let _s =
            debug_span!("state.release_lease", backend = "memory", name = %lease.name).entered();
        validate_key(&lease.name)?;
        Ok(lock(&self.ns.leases).release(lease))
    }

    async fn current_lease(&self, name: &str) -> Result<Option<Lease>> {
        let _s = debug_span!("state.current_lease", backend = "memory", name).entered();
        validate_key(name)?;
        Ok(lock(&self.ns.leases).current(name))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::set_bits;

    proptest! {
        #[test]
        fn set_bits_lists_each_set_bit_once_in_order(bits in any::<u64>()) {
            let expected: Vec<usize> = (0..64).filter(|i| bits & (1 << i) != 0).collect();
            prop_assert_eq!(set_bits(bits).collect::<Vec<_>>(), expected);
        }
    }
}
