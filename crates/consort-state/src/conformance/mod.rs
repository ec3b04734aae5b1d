//! The behaviour every [`StateBackend`] must show, as reusable async test cases.
//!
//! Each case is a `pub async fn` that panics (with a message naming the
//! backend and what went wrong) when the backend misbehaves. A backend's
//! integration test runs each case as its own `#[tokio::test]` on a fresh
//! backend from a [`BackendFactory`], or all of them with [`run_all`], which
//! skips cases the backend's [`Capabilities`](crate::Capabilities) rule out.
//! Cases use their own key prefixes so they can share a namespace and server.
//!
//! Cases need a multi-threaded tokio runtime for the concurrency cases to
//! exercise real parallelism: `#[tokio::test(flavor = "multi_thread")]`.

// This module is test support: a failed expectation must fail the calling test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod inputs;
mod kv;
mod leases;
mod pubsub;

use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::StateBackend;
use crate::memory::MemoryStore;

pub use concurrency::{cas_race, counter_atomicity, lease_mutual_exclusion};
pub use inputs::{bad_input, json_helpers};
pub use kv::{
    basic_crud, batch_atomicity, batch_guard, compare_and_set, list_pagination,
    namespace_isolation, ttl_expiry, version_uniqueness,
};
pub use leases::{lease_expiry_and_renewal, lease_reacquire_and_release};
pub use pubsub::{pubsub_delivery, pubsub_lag_reported, pubsub_patterns};

/// Generates one `#[tokio::test]` per conformance case (every case that
/// takes one backend, plus `namespace_isolation`), so each backend runs the
/// same list and a new case reaches all of them.
///
/// The argument is a closure taking the test's name and returning a future
/// of `Option<impl BackendFactory>`; `None` skips the test (the closure
/// prints why). Needs tokio with the `macros` and `rt-multi-thread` features
/// in the calling crate's dev-dependencies.
///
/// ```no_run
/// consort_state::conformance_tests!(|_test: &'static str| async {
///     Some(consort_state::conformance::MemoryFactory::new())
/// });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            basic_crud, version_uniqueness, ttl_expiry, compare_and_set, cas_race,
            counter_atomicity, lease_mutual_exclusion, lease_expiry_and_renewal,
            lease_reacquire_and_release, batch_atomicity, batch_guard, list_pagination,
            bad_input, json_helpers, pubsub_delivery, pubsub_patterns);

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn namespace_isolation() {
            let Some(factory) = ($factory)("namespace_isolation").await else {
                return;
            };
            let (a, b) = $crate::conformance::BackendFactory::open_pair(&factory).await;
            $crate::conformance::namespace_isolation(a, b).await;
        }
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(factory) = ($factory)(stringify!($case)).await else {
                return;
            };
            $crate::conformance::$case(
                $crate::conformance::BackendFactory::open(&factory).await,
            )
            .await;
        }
    )*};
}

/// Opens fresh backends for the conformance cases.
#[async_trait]
pub trait BackendFactory: Send + Sync {
    /// A backend on a fresh namespace that no other call returned.
    async fn open(&self) -> Arc<dyn StateBackend>;

    /// Two backends on the same underlying store (same process or server),
    /// in two different fresh namespaces.
    async fn open_pair(&self) -> (Arc<dyn StateBackend>, Arc<dyn StateBackend>);
}

/// A namespace name that will not collide with other tests sharing a server.
pub fn random_namespace(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand::u64(..))
}

/// [`BackendFactory`] for [`MemoryBackend`](crate::MemoryBackend): namespaces
/// of one shared [`MemoryStore`].
#[derive(Debug, Clone, Default)]
pub struct MemoryFactory {
    store: MemoryStore,
}

impl MemoryFactory {
    /// Factory over a fresh store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Factory over a given store (e.g. one with a small event buffer).
    pub fn with_store(store: MemoryStore) -> Self {
        MemoryFactory { store }
    }
}

#[async_trait]
impl BackendFactory for MemoryFactory {
    async fn open(&self) -> Arc<dyn StateBackend> {
        Arc::new(self.store.namespace(&random_namespace("conf")).unwrap())
    }

    async fn open_pair(&self) -> (Arc<dyn StateBackend>, Arc<dyn StateBackend>) {
        (self.open().await, self.open().await)
    }
}

/// Runs every case the backend's capabilities allow, each on a fresh backend.
pub async fn run_all(factory: &dyn BackendFactory) {
    let caps = factory.open().await.capabilities();
    basic_crud(factory.open().await).await;
    version_uniqueness(factory.open().await).await;
    counter_atomicity(factory.open().await).await;
    list_pagination(factory.open().await).await;
    bad_input(factory.open().await).await;
    json_helpers(factory.open().await).await;
    let (a, b) = factory.open_pair().await;
    namespace_isolation(a, b).await;
    if caps.ttl {
        ttl_expiry(factory.open().await).await;
    }
    if caps.cas {
        compare_and_set(factory.open().await).await;
        cas_race(factory.open().await).await;
        batch_atomicity(factory.open().await).await;
    }
    if caps.leases {
        lease_mutual_exclusion(factory.open().await).await;
        lease_expiry_and_renewal(factory.open().await).await;
        lease_reacquire_and_release(factory.open().await).await;
        if caps.cas {
            batch_guard(factory.open().await).await;
        }
    }
    if caps.pubsub {
        pubsub_delivery(factory.open().await).await;
        pubsub_lag_reported(factory.open().await, 20_000).await;
        if caps.pattern_subscribe {
            pubsub_patterns(factory.open().await).await;
        }
    }
}

/// Names the backend in assertion messages.
pub(crate) fn who(b: &dyn StateBackend) -> String {
    format!("[namespace {}]", b.namespace())
}

/// Follows `next` cursors to collect every key with `prefix`.
pub async fn list_all(b: &dyn StateBackend, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut cursor = None;
    for _ in 0..100_000 {
        let page = b.list(prefix, cursor.as_ref(), 100).await.unwrap();
        keys.extend(page.keys);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return keys,
        }
    }
    panic!("{}: listing `{prefix}` does not terminate", who(b));
}
