//! The behaviour every [`StateBackend`] must show, as reusable async test cases.
//!
//! Each case is a `pub async fn` that panics (with a message naming the
//! backend and what went wrong) when the backend misbehaves. A backend's
//! integration test runs each case as its own `#[tokio::test]` on a fresh
//! backend from a [`BackendFactory`], or all of them with [`run_all`], which
//! skips cases the backend's [`Capabilities`] rule out.
//! Cases use their own key prefixes so they can share a namespace and server.
//!
//! Cases need a multi-threaded tokio runtime for the concurrency cases to
//! exercise real parallelism: `#[tokio::test(flavor = "multi_thread")]`.

// This module is test support: a failed expectation must fail the calling test.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

mod concurrency;
mod inputs;
mod kv;
mod leases;
mod pubsub;
mod receipts;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::{Capabilities, StateBackend};
use crate::memory::MemoryStore;

pub use concurrency::{cas_race, counter_atomicity, lease_mutual_exclusion};
pub use inputs::{bad_input, json_helpers};
pub use kv::{
    basic_crud, batch_atomicity, batch_guard, compare_and_set, list_pagination,
    namespace_isolation, time_to_live, ttl_expiry, version_uniqueness,
};
pub use leases::{lease_expiry_and_renewal, lease_reacquire_and_release};
pub use pubsub::{pubsub_delivery, pubsub_lag_reported, pubsub_patterns};
pub use receipts::batch_receipt;

/// Generates one `#[tokio::test]` per conformance case, so each backend
/// runs the same list and a new case reaches all of them. A case the
/// backend's [`Capabilities`](crate::Capabilities) rule out prints a `SKIP`
/// line and passes.
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
///
/// The list of cases lives here, once: the `@cases` rule below feeds it both
/// to the test generator and to [`CASES`] (which [`run_all`] walks).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases [tests $factory]);
    };
    // Every case: its name, how it takes backends (`one`, `pair` or `lag`),
    // and the capabilities it needs.
    (@cases [$($mode:tt)*]) => {
        $crate::conformance_tests!(@$($mode)* ;
            basic_crud one [],
            version_uniqueness one [],
            counter_atomicity one [],
            list_pagination one [],
            bad_input one [],
            json_helpers one [],
            namespace_isolation pair [],
            ttl_expiry one [ttl],
            time_to_live one [ttl],
            compare_and_set one [cas],
            cas_race one [cas],
            batch_atomicity one [cas],
            batch_receipt one [cas],
            lease_mutual_exclusion one [leases],
            lease_expiry_and_renewal one [leases],
            lease_reacquire_and_release one [leases],
            batch_guard one [leases cas],
            pubsub_delivery one [pubsub],
            pubsub_lag_reported lag [pubsub],
            pubsub_patterns one [pubsub pattern_subscribe],
        );
    };
    (@tests $factory:expr ; $($case:ident $shape:ident [$($cap:ident)*]),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let Some(factory) = ($factory)(stringify!($case)).await else {
                return;
            };
            $crate::conformance::run_case(stringify!($case), &factory).await;
        }
    )*};
    (@table ; $($case:ident $shape:ident [$($cap:ident)*]),* $(,)?) => {
        mod runners {
            use $crate::conformance::{BackendFactory, CaseFuture};
            $(
                pub(super) fn $case(factory: &dyn BackendFactory) -> CaseFuture<'_> {
                    ::std::boxed::Box::pin(async move {
                        $crate::conformance_tests!(@run $shape $case factory);
                    })
                }
            )*
        }

        /// Every conformance case, in the order [`run_all`] runs them.
        pub const CASES: &[Case] = &[$(
            Case {
                name: stringify!($case),
                needs: |_caps: &$crate::Capabilities| {
                    let needed: &[bool] = &[$(_caps.$cap),*];
                    needed.iter().all(|&claimed| claimed)
                },
                run: runners::$case,
            }
        ),*];
    };
    (@run one $case:ident $factory:ident) => {
        $crate::conformance::$case($factory.open().await).await
    };
    (@run pair $case:ident $factory:ident) => {{
        let (a, b) = $factory.open_pair().await;
        $crate::conformance::$case(a, b).await
    }};
    (@run lag $case:ident $factory:ident) => {
        $crate::conformance::$case($factory.open().await, $crate::conformance::LAG_BURST).await
    };
}

crate::conformance_tests!(@cases [table]);

/// Messages the `pubsub_lag_reported` case publishes unread: more than any
/// default subscriber buffer.
pub const LAG_BURST: usize = 20_000;

/// The future of one case run.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// One conformance case of [`CASES`].
#[derive(Clone, Copy)]
pub struct Case {
    name: &'static str,
    needs: fn(&Capabilities) -> bool,
    run: for<'a> fn(&'a dyn BackendFactory) -> CaseFuture<'a>,
}

impl Case {
    /// The case's name (the name of its `pub async fn` in this module).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// True if a backend with `caps` claims what the case checks.
    pub fn applies_to(&self, caps: &Capabilities) -> bool {
        (self.needs)(caps)
    }

    /// Runs the case on fresh backends from `factory`; panics on misbehaviour.
    pub async fn run(&self, factory: &dyn BackendFactory) {
        (self.run)(factory).await;
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

/// Runs case `name` of [`CASES`] if the factory's backends claim what it
/// needs, else prints `SKIP {name}: ...`. Panics on an unknown name.
pub async fn run_case(name: &str, factory: &dyn BackendFactory) {
    let Some(case) = CASES.iter().find(|c| c.name == name) else {
        panic!("no conformance case `{name}`");
    };
    let caps = factory.open().await.capabilities();
    if case.applies_to(&caps) {
        case.run(factory).await;
    } else {
        eprintln!("SKIP {name}: the backend does not claim what it checks ({caps:?})");
    }
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

/// Runs every case of [`CASES`] the backend's capabilities allow, each on
/// fresh backends.
pub async fn run_all(factory: &dyn BackendFactory) {
    let caps = factory.open().await.capabilities();
    for case in CASES.iter().filter(|c| c.applies_to(&caps)) {
        case.run(factory).await;
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
