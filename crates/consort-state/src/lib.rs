//! Shared state for consort: one [`StateBackend`] trait, two implementations.
//!
//! A backend is a namespace of
//! - **versioned values** with optional TTL: [`get`](StateBackend::get),
//!   [`set`](StateBackend::set), [`compare_and_set`](StateBackend::compare_and_set),
//!   bounded prefix [`list`](StateBackend::list), atomic multi-key
//!   [`apply`](StateBackend::apply) (optionally guarded by a lease);
//! - **counters**: [`increment`](StateBackend::increment) (a keyspace of their own);
//! - **leases** with fencing tokens that only ever grow;
//! - **pub/sub** on topics with `*` patterns, at-most-once.
//!
//! Backends:
//! - [`MemoryBackend`] (always): one process, tens of nanoseconds per op.
//!   [`MemoryStore`] holds several namespaces.
//! - `RedisBackend` (feature `redis`, `rediss://` with `redis-tls`): shared
//!   across processes, survives process exit.
//!
//! Typed JSON access comes from [`JsonStateExt`]. The `conformance` feature
//! exposes the test suite every backend must pass (`conformance`) and a
//! private `redis-server` launcher for tests (`testkit`).
//!
//! # Redis key scheme
//!
//! Everything of namespace `ns` lives under `ns:`, like the coordination
//! proposal's `mcp:servers:registry` and `mcp:events:*`:
//!
//! | what | Redis key / channel |
//! |---|---|
//! | value `k` | `{ns}:kv:{k}` (8-byte big-endian version, then the value) |
//! | counter `k` | `{ns}:ctr:{k}` |
//! | lease `n` | `{ns}:lease:{n}` (hash `holder`, `token`; expires with the lease) |
//! | fencing counter of lease `n` | `{ns}:fence:{n}` (never expires) |
//! | writer ids for versions | `{ns}:meta:writers` |
//! | topic `t` | channel `{ns}:events:{t}` |
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use consort_state::{Expect, JsonStateExt, MemoryBackend, StateBackend, StateError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> consort_state::Result<()> {
//! let state = MemoryBackend::new("mcp")?;
//!
//! // Versioned JSON values and compare-and-set.
//! let v1 = state.set_json("servers:registry", &vec!["docs"], None).await?;
//! let v2 = state
//!     .compare_and_set_json("servers:registry", Expect::Version(v1), &vec!["docs", "git"], None)
//!     .await?;
//! let stale = state.compare_and_set_json("servers:registry", Expect::Version(v1), &vec!["x"], None).await;
//! assert!(matches!(stale, Err(StateError::VersionConflict { .. })));
//! let (servers, version) = state.get_json::<Vec<String>>("servers:registry").await?.unwrap();
//! assert_eq!((servers.len(), version), (2, v2));
//!
//! // Leases with fencing tokens.
//! let lease = state.acquire_lease("file:src/main.rs", "expert-a", Duration::from_secs(5)).await?.unwrap();
//! assert!(state.acquire_lease("file:src/main.rs", "expert-b", Duration::from_secs(5)).await?.is_none());
//! state.release_lease(&lease).await?;
//!
//! // Pub/sub with patterns.
//! let mut sub = state.subscribe("tasks:*").await?;
//! state.publish("tasks:claimed", "t-1".into()).await?;
//! assert!(matches!(sub.recv().await, Some(consort_state::Delivery::Message { .. })));
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod error;
mod instrumented;
mod json;
mod key;
mod memory;
mod receipt;
#[cfg(feature = "redis")]
mod redis;
pub mod retry;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub mod testkit;

pub use backend::{
    Batch, Capabilities, Cursor, Delivery, Expect, Lease, LeaseGuard, Page, StateBackend,
    Subscription, Version, Versioned, WriteOp,
};
pub use error::{BoxError, Result, StateError};
pub use instrumented::{Instrumented, OpStats, StateOp, StateStats};
pub use json::JsonStateExt;
pub use key::{
    DEFAULT_MAX_VALUE_BYTES, MAX_KEY_BYTES, MAX_LIST_LIMIT, MAX_NAMESPACE_BYTES, glob_match,
    validate_key, validate_namespace,
};
pub use memory::{MemoryBackend, MemoryConfig, MemoryStore};
pub use receipt::Receipt;
#[cfg(feature = "redis")]
pub use redis::{RedisBackend, RedisConfig};
