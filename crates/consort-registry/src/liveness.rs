//! Reporting heartbeat lapses exactly once: the per-expert liveness record,
//! the sweep and the sweeper task.
//!
//! Readers never need this module: an expert whose heartbeat key is gone is
//! offline, full stop. This module only decides who publishes
//! `expert:expired` (and the matching comeback), using compare-and-set on
//! `experts:liveness:{id}` so that any number of sweepers and heartbeats, in
//! any number of processes, publish each lapse once.

use consort_protocol::{Availability, EventKind, ExpertEvent, ExpertId};
use consort_state::retry::retry_transient;
use consort_state::{Batch, Expect, JsonStateExt};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, info_span, instrument, warn};

use crate::error::{RegistryError, Result, StateContext};
use crate::keys;
use crate::registry::{ExpertRegistry, Inner, MAX_CAS_ATTEMPTS, decode, to_json};

/// What has been announced about an expert's heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Liveness {
    /// `expert:expired` was published for the current lapse.
    expired: bool,
}

impl Liveness {
    pub(crate) const ALIVE: Self = Self { expired: false };
    const EXPIRED: Self = Self { expired: true };
}

impl Inner {
    /// Called by a heartbeat that found the heartbeat key gone: recreates it
    /// and flips the liveness record back to alive in one atomic batch, so
    /// "heartbeat present" always implies "liveness alive", then announces
    /// the comeback, first reporting the lapse if no sweeper did.
    pub(crate) async fn revive(&self, id: &str, declared: Availability) -> Result<()> {
        let key = keys::liveness(id);
        let heartbeat = self.heartbeat_value();
        let ttl = Some(self.config.heartbeat_ttl);
        let heartbeat_key = keys::heartbeat(id);
        for attempt in 1..=MAX_CAS_ATTEMPTS {
            let record = self
                .call("heartbeat", Some(id), || {
                    self.backend.get_json::<Liveness>(&key)
                })
                .await?;
            let Some((record, version)) = record else {
                // Only mid-deregistration: keep the heartbeat, announce nothing.
                self.call("heartbeat", Some(id), || {
                    self.backend.set(&heartbeat_key, heartbeat.clone(), ttl)
                })
                .await?;
                return Ok(());
            };
            let batch = Batch::new()
                .compare_and_set(
                    key.clone(),
                    Expect::Version(version),
                    to_json(id, &key, &Liveness::ALIVE, "heartbeat")?,
                    None,
                )
                .set(heartbeat_key.clone(), heartbeat.clone(), ttl);
            // After an unknown outcome a retry loses the compare-and-set to
            // its own write, and the next round finds the record alive.
            let applied =
                retry_transient(&self.config.retry, || self.backend.apply(batch.clone())).await;
            match applied {
                Ok(_) => {
                    if !record.expired {
                        self.publish(expired_event(id)).await;
                    }
                    self.publish(EventKind::ExpertAvailability(ExpertEvent {
                        expert_id: id.into(),
                        availability: Some(declared),
                    }))
                    .await;
                    return Ok(());
                }
                // A sweeper reported the lapse meanwhile; read its record.
                Err(consort_state::StateError::VersionConflict { .. })
                    if attempt < MAX_CAS_ATTEMPTS => {}
                Err(e) => return Err(e).during("heartbeat", Some(id)),
            }
        }
        Ok(())
    }

    /// Reports the lapses among one page of experts; returns those reported
    /// by this call.
    async fn sweep_page(&self, ids: &[ExpertId]) -> Result<Vec<ExpertId>> {
        let liveness_keys: Vec<String> = ids.iter().map(|i| keys::liveness(i)).collect();
        let heartbeat_keys: Vec<String> = ids.iter().map(|i| keys::heartbeat(i)).collect();
        // Liveness first: a heartbeat that revives the expert after this read
        // rewrites the record, so the compare-and-set below fails instead of
        // reporting a lapse that has ended.
        let records = self
            .call("sweep", None, || self.backend.get_many(&liveness_keys))
            .await?;
        let heartbeats = self
            .call("sweep", None, || self.backend.get_many(&heartbeat_keys))
            .await?;
        let mut reported = Vec::new();
        for (((id, key), record), heartbeat) in
            ids.iter().zip(&liveness_keys).zip(records).zip(heartbeats)
        {
            if heartbeat.is_some() {
                continue;
            }
            // No record: deregistered after the listing.
            let Some(record) = record else { continue };
            let liveness: Liveness = decode(key, &record).during("sweep", Some(id))?;
            if liveness.expired {
                continue;
            }
            let value = to_json(id, key, &Liveness::EXPIRED, "sweep")?;
            let reported_now = retry_transient(&self.config.retry, || {
                self.backend.compare_and_set(
                    key,
                    Expect::Version(record.version),
                    value.clone(),
                    None,
                )
            })
            .await;
            match reported_now {
                Ok(_) => {
                    self.publish(expired_event(id)).await;
                    reported.push(id.clone());
                }
                // Also a retry whose first attempt had applied: that lapse's
                // event is lost, like any pub/sub message during an outage.
                Err(consort_state::StateError::VersionConflict { .. }) => {
                    debug!(expert = %id, "lapse already reported or ended");
                }
                Err(e) => return Err(e).during("sweep", Some(id)),
            }
        }
        Ok(reported)
    }
}

fn expired_event(id: &str) -> EventKind {
    EventKind::ExpertExpired(ExpertEvent {
        expert_id: id.into(),
        availability: Some(Availability::Offline),
    })
}

impl ExpertRegistry {
    /// Looks once for experts whose heartbeat lapsed and whose lapse was not
    /// reported yet, publishes `expert:expired` for each, and returns their
    /// ids (sorted). Safe to run concurrently in several processes: each lapse
    /// is reported by exactly one caller.
    #[instrument(skip(self))]
    pub async fn sweep_once(&self) -> Result<Vec<ExpertId>> {
        let mut reported = Vec::new();
        let mut cursor = None;
        loop {
            let (ids, next) = self.inner.list_page(cursor.as_ref(), "sweep").await?;
            if !ids.is_empty() {
                reported.extend(self.inner.sweep_page(&ids).await?);
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        reported.sort();
        Ok(reported)
    }

    /// Runs [`sweep_once`](Self::sweep_once) every `sweep_interval` on the
    /// current tokio runtime until the returned [`Sweeper`] is dropped or
    /// stopped. With a sweeper running, `expert:expired` is published within
    /// `heartbeat_ttl + sweep_interval` (plus one sweep's duration) of the
    /// last heartbeat.
    ///
    /// Backend outages do not end it: each backend call is retried within
    /// the configured [`retry`](crate::RegistryConfig::retry) budget, and a
    /// sweep that still fails is logged and tried again next tick.
    pub fn spawn_sweeper(&self) -> Result<Sweeper> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| RegistryError::NoRuntime {
                source_name: self.inner.config.source.clone(),
            })?;
        let registry = self.clone();
        let every = self.inner.config.sweep_interval;
        let span = info_span!("registry.sweeper", source = %self.inner.config.source);
        let task = runtime.spawn(
            async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(error) = registry.sweep_once().await {
                        warn!(%error, "registry sweep failed; retrying next tick");
                    }
                }
            }
            .instrument(span),
        );
        Ok(Sweeper { task: Some(task) })
    }
}

/// A running sweeper; dropping it stops the sweeps.
#[derive(Debug)]
#[must_use = "dropping the Sweeper stops it"]
pub struct Sweeper {
    task: Option<JoinHandle<()>>,
}

impl Sweeper {
    /// Stops the sweeps and waits until the task has ended.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // The only possible JoinError is the cancellation just requested.
            let _ = task.await;
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
