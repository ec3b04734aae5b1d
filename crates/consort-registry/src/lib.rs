//! The expert registry of consort, over any [`StateBackend`]: who the experts
//! are, whether they are alive, how busy they are, and a stream of changes.
//!
//! - [`ExpertRegistry::register`] / [`deregister`](ExpertRegistry::deregister)
//!   store [`ExpertProfile`]s (validated; a bad one stores nothing).
//! - [`heartbeat`](ExpertRegistry::heartbeat) keeps an expert online for
//!   `heartbeat_ttl`. An expert whose heartbeat lapsed reads as
//!   [`Availability::Offline`] from that moment: every read checks the
//!   heartbeat key, nothing waits for a sweep.
//! - [`set_availability`](ExpertRegistry::set_availability) declares
//!   available / busy / offline.
//! - [`acquire_slot`](ExpertRegistry::acquire_slot) counts work against
//!   `max_concurrent`; [`Slot`]s are released explicitly or on drop.
//! - [`snapshot`](ExpertRegistry::snapshot) / [`get`](ExpertRegistry::get)
//!   return profiles with live `availability_status` and `current_load`.
//! - [`watch`](ExpertRegistry::watch) streams [`RegistryChange`]s;
//!   [`spawn_sweeper`](ExpertRegistry::spawn_sweeper) (or
//!   [`sweep_once`](ExpertRegistry::sweep_once)) publishes `expert:expired`
//!   for lapsed heartbeats.
//!
//! Registries in several processes over one Redis namespace see the same
//! experts and the same events.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use consort_protocol::{Availability, ExpertProfile};
//! use consort_registry::{RegistryError, ExpertRegistry, RegistryConfig};
//! use consort_state::MemoryBackend;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let backend = Arc::new(MemoryBackend::new("docs")?);
//! let registry = ExpertRegistry::new(
//!     backend,
//!     RegistryConfig::default()
//!         .with_heartbeat_ttl(Duration::from_secs(10))
//!         .with_sweep_interval(Duration::from_secs(1))
//!         .with_source("my-server"),
//! );
//! let _sweeper = registry.spawn_sweeper()?;
//!
//! let mut finance = ExpertProfile::new("finance_accountant", vec!["finance".into()]);
//! finance.max_concurrent = Some(1);
//! registry.register(&finance).await?;
//! registry.heartbeat("finance_accountant").await?;
//!
//! let slot = registry.acquire_slot("finance_accountant").await?;
//! let busy = registry.acquire_slot("finance_accountant").await;
//! assert!(matches!(busy, Err(RegistryError::AtCapacity { max: 1, .. })));
//!
//! let experts = registry.snapshot().await?;
//! assert_eq!(experts[0].availability_status, Availability::Available);
//! assert_eq!(experts[0].current_load, 1);
//!
//! assert_eq!(slot.release().await?, 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Storage layout
//!
//! All keys live in the backend's namespace (`{id}` is the expert id):
//!
//! | key | kind | holds |
//! |---|---|---|
//! | `experts:profile:{id}` | value, no TTL | the profile as registered, with the declared availability |
//! | `experts:heartbeat:{id}` | value, TTL `heartbeat_ttl` | the `source` of the last registry that renewed it; absent = offline |
//! | `experts:liveness:{id}` | value, no TTL | `{"expired": bool}`: whether the current lapse was reported |
//! | `experts:load:{id}` | counter | slots in use |
//!
//! Experts are enumerated by a bounded, cursor-paged `list` of
//! `experts:profile:`. Events go to topics named by their type:
//! `expert:registered`, `expert:deregistered`, `expert:availability`,
//! `expert:expired`, as JSON [`consort_protocol::Event`]s.
//!
//! # Timing and delivery
//!
//! - Offline at once: reads treat a missing heartbeat key as offline, exactly
//!   when the backend expires it.
//! - `expert:expired` is published once per lapse, within
//!   `heartbeat_ttl + sweep_interval` of the last heartbeat while at least one
//!   sweeper runs, by whichever sweeper wins a compare-and-set on
//!   `experts:liveness:{id}`. A heartbeat that ends a lapse recreates the
//!   heartbeat and flips that record in one atomic batch; if no sweeper had
//!   reported the lapse it publishes `expert:expired` itself, then
//!   `expert:availability`.
//! - Events are pub/sub, at-most-once; the stored keys are the truth. After
//!   [`RegistryChange::Lagged`], take a new snapshot.
//!
//! # Backend outages
//!
//! Every backend call that is safe to repeat is retried through transient
//! failures (a Redis restart, failover, freeze or dropped connection) with
//! backoff and jitter, within [`RegistryConfig::retry`] (30 s by default):
//! a heartbeat issued during a short outage succeeds once the backend is
//! back, the sweeper keeps sweeping, and a watch reports the gap as
//! [`RegistryChange::Lagged`] and keeps delivering. Load-counter increments
//! and event publishing are never repeated (a lost reply may hide a success).
//!
//! [`StateBackend`]: consort_state::StateBackend
//! [`ExpertProfile`]: consort_protocol::ExpertProfile
//! [`Availability::Offline`]: consort_protocol::Availability::Offline

#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
mod keys;
mod liveness;
mod presence;
mod registry;
mod slots;
mod watch;

pub use config::{MIN_INTERVAL, RegistryConfig};
pub use error::{RegistryError, Result};
pub use liveness::Sweeper;
pub use registry::ExpertRegistry;
pub use slots::Slot;
pub use watch::{RegistryChange, RegistryWatch};
