//! [`Instrumented`]: a forwarding layer that counts, times and traces every
//! call to the backend it wraps.

mod stats;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use tracing::Instrument as _;

use crate::backend::{
    Batch, Capabilities, Cursor, Expect, Lease, Page, StateBackend, Subscription, Version,
    Versioned,
};
use crate::error::Result;

use stats::Recorder;
pub use stats::{OpStats, StateOp, StateStats};

/// A [`StateBackend`] that forwards every call to `B` and records, per
/// operation ([`StateOp`]):
///
/// - calls and errors, readable any time with [`stats`](Self::stats)
///   without a metrics recorder;
/// - the same as `metrics` counters `consort_state_calls_total` and
///   `consort_state_errors_total`, and the latency as histogram
///   `consort_state_call_duration_seconds` (seconds), each labelled `op`
///   and `namespace`, through whichever `metrics` recorder the application
///   installed **before** building the layer;
/// - a `state.call` tracing span (debug level, field `op`) around the call.
///
/// Cheap to clone (clones share the counters). Use it where the backend is
/// used, typically as `Arc<dyn StateBackend>`.
///
/// ```
/// use std::sync::Arc;
/// use consort_state::{Instrumented, MemoryBackend, StateBackend, StateOp};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> consort_state::Result<()> {
/// let counted = Instrumented::new(MemoryBackend::new("docs")?);
/// let backend: Arc<dyn StateBackend> = Arc::new(counted.clone());
/// backend.set("k", "v".into(), None).await?;
/// backend.get("k").await?;
/// backend.get("k\n").await.unwrap_err(); // an invalid key: counted as an error
///
/// let stats = counted.stats();
/// assert_eq!(stats.op(StateOp::Get).calls, 2);
/// assert_eq!(stats.op(StateOp::Get).errors, 1);
/// assert_eq!(stats.total_calls(), 3);
/// # Ok(())
/// # }
/// ```
pub struct Instrumented<B: ?Sized> {
    recorder: Arc<Recorder>,
    inner: Arc<B>,
}

impl<B: StateBackend> Instrumented<B> {
    /// Wraps `inner`.
    pub fn new(inner: B) -> Self {
        Self::from_arc(Arc::new(inner))
    }
}

impl<B: StateBackend + ?Sized> Instrumented<B> {
    /// Wraps a shared backend, e.g. an `Arc<dyn StateBackend>`.
    pub fn from_arc(inner: Arc<B>) -> Self {
        Self {
            recorder: Arc::new(Recorder::new(inner.namespace())),
            inner,
        }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &Arc<B> {
        &self.inner
    }

    /// Calls and errors per operation since the layer was built (shared by
    /// its clones).
    pub fn stats(&self) -> StateStats {
        self.recorder.snapshot()
    }

    async fn observe<T>(&self, op: StateOp, call: impl Future<Output = Result<T>>) -> Result<T> {
        let span = tracing::debug_span!("state.call", op = op.as_str());
        let start = Instant::now();
        // Without a subscriber interested in the span, skip its wrapper.
        let out = if span.is_disabled() {
            call.await
        } else {
            call.instrument(span).await
        };
        self.recorder.record(op, start.elapsed(), out.is_err());
        out
    }
}

impl<B: ?Sized> Clone for Instrumented<B> {
    fn clone(&self) -> Self {
        Self {
            recorder: Arc::clone(&self.recorder),
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<B: StateBackend + ?Sized> fmt::Debug for Instrumented<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instrumented")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<B: StateBackend + ?Sized> StateBackend for Instrumented<B> {
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn get(&self, key: &str) -> Result<Option<Versioned>> {
        self.observe(StateOp::Get, self.inner.get(key)).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        self.observe(StateOp::GetMany, self.inner.get_many(keys))
            .await
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> Result<Version> {
        self.observe(StateOp::Set, self.inner.set(key, value, ttl))
            .await
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        self.observe(StateOp::Delete, self.inner.delete(key)).await
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expect: Expect,
        value: Bytes,
        ttl: Option<Duration>,
    ) -> Result<Version> {
        self.observe(
            StateOp::CompareAndSet,
            self.inner.compare_and_set(key, expect, value, ttl),
        )
        .await
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.observe(StateOp::Increment, self.inner.increment(key, delta))
            .await
    }

    async fn expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        self.observe(StateOp::Expire, self.inner.expire(key, ttl))
            .await
    }

    async fn time_to_live(&self, keys: &[String]) -> Result<Vec<Option<Duration>>> {
        self.observe(StateOp::TimeToLive, self.inner.time_to_live(keys))
            .await
    }

    async fn list(&self, prefix: &str, cursor: Option<&Cursor>, limit: usize) -> Result<Page> {
        self.observe(StateOp::List, self.inner.list(prefix, cursor, limit))
            .await
    }

    async fn apply(&self, batch: Batch) -> Result<Vec<Option<Version>>> {
        self.observe(StateOp::Apply, self.inner.apply(batch)).await
    }

    async fn publish(&self, topic: &str, payload: Bytes) -> Result<()> {
        self.observe(StateOp::Publish, self.inner.publish(topic, payload))
            .await
    }

    fn may_have_subscribers(&self, topic: &str) -> bool {
        self.inner.may_have_subscribers(topic)
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        self.observe(StateOp::Subscribe, self.inner.subscribe(pattern))
            .await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        self.observe(
            StateOp::AcquireLease,
            self.inner.acquire_lease(name, holder, ttl),
        )
        .await
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        self.observe(StateOp::RenewLease, self.inner.renew_lease(lease, ttl))
            .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<bool> {
        self.observe(StateOp::ReleaseLease, self.inner.release_lease(lease))
            .await
    }

    async fn current_lease(&self, name: &str) -> Result<Option<Lease>> {
        self.observe(StateOp::CurrentLease, self.inner.current_lease(name))
            .await
    }
}
