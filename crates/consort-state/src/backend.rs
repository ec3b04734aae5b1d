//! The [`StateBackend`] trait and the value types it speaks.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;

use crate::error::Result;

/// Version of a stored value.
///
/// Opaque: it changes on every write of a key, is never reused for that key,
/// and is always greater than zero. Versions need not be consecutive or
/// ordered; compare them only for equality.
pub type Version = u64;

/// The precondition of a compare-and-set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// The key must not exist (or must have expired).
    Absent,
    /// The key must currently hold exactly this version.
    Version(Version),
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Absent => f.write_str("no value"),
            Expect::Version(v) => write!(f, "version {v}"),
        }
    }
}

/// A value together with the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The stored bytes.
    pub value: Bytes,
    /// Version to pass to [`Expect::Version`] for a later compare-and-set.
    pub version: Version,
}

/// Opaque continuation token for [`StateBackend::list`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(pub(crate) String);

impl Cursor {
    /// The token as a string, e.g. to hand it to a client and back.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a cursor from [`Cursor::as_str`]. A forged cursor can only
    /// skip or repeat keys, never read outside the namespace.
    pub fn from_string(s: impl Into<String>) -> Self {
        Cursor(s.into())
    }
}

/// One page of [`StateBackend::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Keys (without namespace) in this page.
    pub keys: Vec<String>,
    /// Pass this to the next call; `None` when the listing is complete.
    pub next: Option<Cursor>,
}

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Lease name.
    pub name: String,
    /// Who holds it.
    pub holder: String,
    /// Fencing token: strictly increasing per lease name, forever (it survives
    /// release and expiry). Pass it to [`LeaseGuard`] or to downstream systems
    /// so a paused former holder's writes can be refused.
    pub token: u64,
    /// The TTL granted by the last acquire or renew (for
    /// [`StateBackend::current_lease`]: the time remaining).
    pub ttl: Duration,
}

impl Lease {
    /// A guard for [`Batch::guard`] that requires this lease to still be held.
    pub fn guard(&self) -> LeaseGuard {
        LeaseGuard {
            name: Arc::from(self.name.as_str()),
            token: self.token,
        }
    }
}

/// Something received on a [`Subscription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A published message.
    Message {
        /// The topic it was published on (without namespace).
        topic: String,
        /// The payload as published.
        payload: Bytes,
    },
    /// Messages were lost for this subscriber; state derived from them should
    /// be re-read (a snapshot) before applying further messages.
    Lagged {
        /// `Some(n)`: the subscriber fell behind its buffer and `n` messages
        /// were dropped. `None`: the connection to the backend was lost and
        /// re-established, and messages published meanwhile are gone (how
        /// many is unknown).
        missed: Option<u64>,
    },
}

/// A stream of [`Delivery`] values; dropping it unsubscribes.
///
/// Delivery is at-most-once: messages published while a subscriber is
/// disconnected or lagging are lost, and the loss is reported as
/// [`Delivery::Lagged`]. A backend keeps a subscription alive across lost
/// connections (re-subscribing by itself); the stream ends only when the
/// backend shuts down.
pub struct Subscription {
    inner: Pin<Box<dyn Stream<Item = Delivery> + Send>>,
}

impl Subscription {
    /// Wraps any stream of deliveries (for custom backends).
    pub fn new(stream: impl Stream<Item = Delivery> + Send + 'static) -> Self {
        Subscription {
            inner: Box::pin(stream),
        }
    }

    /// Waits for the next delivery; `None` when the backend has shut down.
    pub async fn recv(&mut self) -> Option<Delivery> {
        std::future::poll_fn(|cx| self.inner.as_mut().poll_next(cx)).await
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Stream for Subscription {
    type Item = Delivery;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// What a backend can do; the conformance suite skips cases a backend does not claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The backend's kind, as users name it (`memory`, `redis`).
    pub kind: &'static str,
    /// Keys can expire.
    pub ttl: bool,
    /// Versioned compare-and-set and atomic batches.
    pub cas: bool,
    /// Leases with fencing tokens.
    pub leases: bool,
    /// Publish/subscribe.
    pub pubsub: bool,
    /// Subscriptions accept `*` patterns.
    pub pattern_subscribe: bool,
    /// Data survives the process exiting.
    pub durable: bool,
    /// Several processes see the same data.
    pub shared_across_processes: bool,
    /// Largest value accepted, in bytes.
    pub max_value_bytes: usize,
    /// Longest key accepted, in bytes.
    pub max_key_bytes: usize,
}

/// One write inside a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Unconditional write.
    Set {
        /// Key.
        key: String,
        /// Value.
        value: Bytes,
        /// Optional expiry; `None` stores without expiry.
        ttl: Option<Duration>,
    },
    /// Delete (a missing key is not an error).
    Delete {
        /// Key.
        key: String,
    },
    /// Write only if the precondition holds, else the whole batch fails.
    CompareAndSet {
        /// Key.
        key: String,
        /// Precondition.
        expect: Expect,
        /// Value.
        value: Bytes,
        /// Optional expiry.
        ttl: Option<Duration>,
    },
}

impl WriteOp {
    /// The key this op writes.
    pub fn key(&self) -> &str {
        match self {
            WriteOp::Set { key, .. }
            | WriteOp::Delete { key }
            | WriteOp::CompareAndSet { key, .. } => key,
        }
    }
}

/// Requires lease `name` to be held with fencing token `token` for a batch to apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseGuard {
    /// Lease name (shared: a writer guards batch after batch with one lease).
    pub name: Arc<str>,
    /// Fencing token the lease must currently have.
    pub token: u64,
}

/// An atomic group of writes: all apply, or none do.
///
/// Ops apply in order, and a compare-and-set sees the effect of earlier ops
/// in the same batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// If set, the batch applies only while this lease is held with this token.
    pub guard: Option<LeaseGuard>,
    /// The writes, applied in order.
    pub ops: Vec<WriteOp>,
}

impl Batch {
    /// An empty batch without a guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `lease` to still be held when the batch applies.
    pub fn guarded_by(mut self, lease: &Lease) -> Self {
        self.guard = Some(lease.guard());
        self
    }

    /// Adds an unconditional write.
    pub fn set(
        mut self,
        key: impl Into<String>,
        value: impl Into<Bytes>,
        ttl: Option<Duration>,
    ) -> Self {
        self.ops.push(WriteOp::Set {
            key: key.into(),
            value: value.into(),
            ttl,
        });
        self
    }

    /// Adds a delete.
    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.ops.push(WriteOp::Delete { key: key.into() });
        self
    }

    /// Adds a compare-and-set.
    pub fn compare_and_set(
        mut self,
        key: impl Into<String>,
        expect: Expect,
        value: impl Into<Bytes>,
        ttl: Option<Duration>,
    ) -> Self {
        self.ops.push(WriteOp::CompareAndSet {
            key: key.into(),
            expect,
            value: value.into(),
            ttl,
        });
        self
    }
}

/// Namespaced shared state: versioned values, counters, leases and pub/sub.
///
/// Object-safe; share it as `Arc<dyn StateBackend>`. All keys, counters,
/// leases and topics live inside [`namespace`](StateBackend::namespace):
/// two backends with different namespaces never see each other's data.
///
/// Keys, topics, patterns and lease names must be non-empty, at most
/// [`MAX_KEY_BYTES`](crate::MAX_KEY_BYTES) bytes and free of control
/// characters; otherwise the call fails with
/// [`StateError::InvalidKey`](crate::StateError::InvalidKey) and stores nothing.
///
/// # Using it
///
/// Code that needs shared state takes an `Arc<dyn StateBackend>`, so the
/// same code runs in memory (tests, one process) and on Redis:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use consort_state::{Batch, Expect, MemoryBackend, StateBackend, StateError};
///
/// /// Claims a task for `worker`, at most once across every process.
/// async fn claim(state: &dyn StateBackend, task: &str, worker: &str) -> consort_state::Result<bool> {
///     let key = format!("tasks:{task}:owner");
///     match state.compare_and_set(&key, Expect::Absent, worker.to_owned().into(), None).await {
///         Ok(_) => Ok(true),
///         Err(StateError::VersionConflict { .. }) => Ok(false),
///         Err(e) => Err(e),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> consort_state::Result<()> {
/// let state: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("app")?);
/// assert!(claim(&*state, "t-1", "alice").await?);
/// assert!(!claim(&*state, "t-1", "bob").await?);
///
/// // Several keys at once, only while we hold the lease.
/// let lease = state.acquire_lease("tasks:t-1", "alice", Duration::from_secs(30)).await?.unwrap();
/// state
///     .apply(Batch::new().guarded_by(&lease).set("tasks:t-1:state", "done", None).delete("tasks:t-1:owner"))
///     .await?;
/// # Ok(())
/// # }
/// ```
///
/// # Implementing it
///
/// Implement it with [`async_trait`](https://docs.rs/async-trait) (the trait
/// is object-safe through it), validate keys with [`validate_key`](crate::validate_key)
/// so every backend rejects the same input, report connection problems as
/// transient errors, keep subscriptions alive across reconnects (reporting
/// the gap as [`Delivery::Lagged`]), and run the conformance suite
/// (`conformance_tests!`, feature `conformance`) against it.
/// [`Instrumented`](crate::Instrumented) is a complete implementation that
/// forwards to another backend; wrapping is also how to add behaviour to an
/// existing backend without writing one:
///
/// ```
/// use std::sync::Arc;
/// use consort_state::{Instrumented, MemoryBackend, StateBackend, StateOp};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> consort_state::Result<()> {
/// let layer = Instrumented::new(MemoryBackend::new("app")?);
/// let state: Arc<dyn StateBackend> = Arc::new(layer.clone());
/// state.set("k", "v".into(), None).await?;
/// assert_eq!(layer.stats().op(StateOp::Set).calls, 1);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait StateBackend: Send + Sync + fmt::Debug + 'static {
    /// The namespace every key of this backend lives in.
    fn namespace(&self) -> &str;

    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;

    /// Reads a value; expired keys read as `None`.
    async fn get(&self, key: &str) -> Result<Option<Versioned>>;

    /// Reads several values at once (one round trip on Redis), in `keys` order.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>>;

    /// Writes a value unconditionally, replacing any TTL with `ttl`.
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Version>;

    /// Deletes a value; `true` if one existed.
    async fn delete(&self, key: &str) -> Result<bool>;

    /// Writes only if `expect` holds; otherwise
    /// [`StateError::VersionConflict`](crate::StateError::VersionConflict) and nothing changes.
    async fn compare_and_set(
        &self,
        key: &str,
        expect: Expect,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Version>;

    /// Atomically adds `delta` to counter `key` (starting at 0) and returns the new value.
    ///
    /// Counters are a keyspace of their own: `get`/`set`/`delete`/`list`
    /// never see them, and a counter and a value may share a name.
    async fn increment(&self, key: &str, delta: i64) -> Result<i64>;

    /// Sets a new TTL on an existing value; `false` if the key does not exist.
    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool>;

    /// How long each of `keys` has left to live, in one call: `None` for a
    /// key that does not exist or never expires. (A registry derives the
    /// age of a heartbeat from it: the TTL it set, less what is left.)
    async fn time_to_live(&self, keys: &[String]) -> Result<Vec<Option<Duration>>>;

    /// Lists value keys starting with `prefix`, at most `limit` per page
    /// (capped at [`MAX_LIST_LIMIT`](crate::MAX_LIST_LIMIT)).
    ///
    /// Following `next` until it is `None` returns every key with the prefix
    /// exactly once, provided nothing changes meanwhile. A page may hold fewer
    /// than `limit` keys (even none) while `next` is still `Some`.
    async fn list(&self, prefix: &str, cursor: Option<&Cursor>, limit: usize) -> Result<Page>;

    /// Applies a batch atomically: all ops or none.
    ///
    /// A failed compare-and-set fails the whole batch with
    /// [`StateError::VersionConflict`](crate::StateError::VersionConflict) naming the key;
    /// a guard whose lease is not held with that token fails it with
    /// [`StateError::LeaseLost`](crate::StateError::LeaseLost). Returns one entry per op:
    /// the new version for sets and compare-and-sets, `None` for deletes.
    ///
    /// A transient error ([`Timeout`](crate::StateError::Timeout), or
    /// [`Unavailable`](crate::StateError::Unavailable) after the request was
    /// sent) leaves the outcome unknown: the batch may have applied, or may
    /// still apply. Give it a [`Receipt`](crate::Receipt) to reconcile:
    /// re-apply the same batch; on a conflict or a lost lease,
    /// [`Receipt::applied`](crate::Receipt::applied) says whether an earlier
    /// attempt applied it. [`retry::apply_once`](crate::retry::apply_once)
    /// does both.
    async fn apply(&self, batch: Batch) -> Result<Vec<Option<Version>>>;

    /// Publishes `payload` on `topic`. At-most-once: subscribers that are not
    /// connected right now never see it.
    async fn publish(&self, topic: &str, payload: Bytes) -> Result<()>;

    /// False only if a [`publish`](Self::publish) on `topic` right now would
    /// certainly reach no one, so that a publisher can skip building and
    /// encoding the message. A backend that cannot tell (Redis: subscribers
    /// may live in other processes) always says true, which is the default.
    fn may_have_subscribers(&self, topic: &str) -> bool {
        let _ = topic;
        true
    }

    /// Subscribes to an exact topic or a pattern where `*` matches any run of
    /// characters (e.g. `task:*`, `workflow:run-1:*`). Messages published after
    /// this returns are delivered.
    async fn subscribe(&self, pattern: &str) -> Result<Subscription>;

    /// Tries to take lease `name` for `holder`. `None` while someone else holds
    /// it. If `holder` already holds it, renews it and returns the same token.
    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration)
    -> Result<Option<Lease>>;

    /// Extends a held lease; [`StateError::LeaseLost`](crate::StateError::LeaseLost) if
    /// it expired or was taken over.
    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease>;

    /// Releases a lease if it is still held with that token; `false` otherwise.
    async fn release_lease(&self, lease: &Lease) -> Result<bool>;

    /// The current holder of lease `name`, if any, with its remaining TTL.
    async fn current_lease(&self, name: &str) -> Result<Option<Lease>>;
}

/// Turns a broadcast receiver into a [`Subscription`]; `map` filters and
/// converts, and broadcast lag becomes [`Delivery::Lagged`].
pub(crate) fn broadcast_subscription<T, F>(
    rx: tokio::sync::broadcast::Receiver<T>,
    map: F,
) -> Subscription
where
    T: Clone + Send + 'static,
    F: Fn(&T) -> Option<Delivery> + Send + Sync + 'static,
{
    use tokio::sync::broadcast::error::RecvError;
    let stream = futures_util::stream::unfold((rx, map), |(mut rx, map)| async move {
        loop {
            match rx.recv().await {
                Ok(item) => {
                    if let Some(d) = map(&item) {
                        return Some((d, (rx, map)));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    return Some((
                        Delivery::Lagged {
                            missed: Some(missed),
                        },
                        (rx, map),
                    ));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Subscription::new(stream)
}
