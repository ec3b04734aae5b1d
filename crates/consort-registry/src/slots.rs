//! Load accounting: work slots counted per expert against `max_concurrent`.

use std::sync::Arc;

use consort_protocol::{Availability, ExpertId, ExpertProfile};
use tracing::{Instrument, debug_span, instrument, warn};

use crate::error::{RegistryError, Result, StateContext};
use crate::keys;
use crate::registry::{ExpertRegistry, Inner, check_id, decode, not_registered};

/// One unit of work held on an expert, counted in its `current_load` until
/// released.
///
/// Release it with [`release`](Self::release) (or
/// [`ExpertRegistry::release_slot`]); a slot is consumed by releasing, so it
/// cannot be released twice. A slot dropped unreleased is released in the
/// background on the current tokio runtime (or logged as leaked when there is
/// none); a process that dies holding slots leaks them until
/// [`ExpertRegistry::reset_load`].
#[derive(Debug)]
#[must_use = "a slot counts against the expert's load until released"]
pub struct Slot {
    inner: Arc<Inner>,
    id: ExpertId,
    load: u32,
    held: bool,
}

impl Slot {
    /// The expert this slot is held on.
    pub fn expert_id(&self) -> &str {
        &self.id
    }

    /// The expert's load right after this slot was taken (this slot included).
    pub fn load_when_acquired(&self) -> u32 {
        self.load
    }

    /// Gives the slot back; returns the expert's load afterwards.
    #[instrument(skip(self), fields(expert = %self.id))]
    pub async fn release(mut self) -> Result<u32> {
        self.held = false;
        release(&self.inner, &self.id).await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let (inner, id) = (Arc::clone(&self.inner), std::mem::take(&mut self.id));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let span = debug_span!("registry.release_dropped_slot", expert = %id);
                runtime.spawn(
                    async move {
                        if let Err(error) = release(&inner, &id).await {
                            warn!(%error, "dropped slot could not be released");
                        }
                    }
                    .instrument(span),
                );
            }
            Err(_) => warn!(expert = %id, "slot dropped outside a tokio runtime; it stays counted"),
        }
    }
}

/// Decrements the load counter, never leaving it below zero: a decrement that
/// goes negative (only possible after [`ExpertRegistry::reset_load`] while
/// slots were held) is undone and counts as a no-op.
async fn release(inner: &Inner, id: &str) -> Result<u32> {
    let key = keys::load(id);
    let after = inner
        .backend
        .increment(&key, -1)
        .await
        .during("release_slot", Some(id))?;
    if after < 0 {
        inner
            .backend
            .increment(&key, 1)
            .await
            .during("release_slot", Some(id))?;
        warn!(expert = %id, "slot released after its load was reset; ignored");
        return Ok(0);
    }
    Ok(u32::try_from(after).unwrap_or(u32::MAX))
}

impl ExpertRegistry {
    /// Takes a work slot on the expert, atomically against its
    /// `max_concurrent` (no limit when `None`).
    ///
    /// Errors: [`RegistryError::NotRegistered`]; [`RegistryError::Offline`] when its heartbeat
    /// lapsed or it declared itself offline (busy experts can still take
    /// work); [`RegistryError::AtCapacity`] when every slot is taken. Under
    /// contention at the limit an attempt may be refused while another
    /// over-limit attempt is being rolled back, but more than
    /// `max_concurrent` slots are never held at once.
    #[instrument(skip(self), fields(expert = %id))]
    pub async fn acquire_slot(&self, id: &str) -> Result<Slot> {
        check_id(id)?;
        let backend = &self.inner.backend;
        let profile_key = keys::profile(id);
        let read = [profile_key.clone(), keys::heartbeat(id)];
        let found = self
            .inner
            .call("acquire_slot", Some(id), || backend.get_many(&read))
            .await?;
        let mut found = found.into_iter();
        let (Some(stored), heartbeat) = (found.next().flatten(), found.next().flatten()) else {
            return Err(not_registered(id));
        };
        let profile: ExpertProfile =
            decode(&profile_key, &stored).during("acquire_slot", Some(id))?;
        if heartbeat.is_none() || profile.availability_status == Availability::Offline {
            return Err(RegistryError::Offline { id: id.into() });
        }
        let key = keys::load(id);
        // Never retried: an increment whose reply was lost may have counted.
        let after = backend
            .increment(&key, 1)
            .await
            .during("acquire_slot", Some(id))?;
        if let Some(max) = profile.max_concurrent
            && after > i64::from(max)
        {
            backend
                .increment(&key, -1)
                .await
                .during("acquire_slot", Some(id))?;
            return Err(RegistryError::AtCapacity { id: id.into(), max });
        }
        Ok(Slot {
            inner: Arc::clone(&self.inner),
            id: id.into(),
            load: u32::try_from(after.max(0)).unwrap_or(u32::MAX),
            held: true,
        })
    }

    /// Gives a slot back; the same as [`Slot::release`].
    pub async fn release_slot(&self, slot: Slot) -> Result<u32> {
        slot.release().await
    }

    /// Sets the expert's load to zero, for slots leaked by a process that died
    /// holding them. Slots still held elsewhere then release as no-ops.
    /// Works for deregistered experts too.
    #[instrument(skip(self), fields(expert = %id))]
    pub async fn reset_load(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let key = keys::load(id);
        let backend = &self.inner.backend;
        // Counters have no "set": subtract what is there. A slot taken
        // meanwhile survives the reset, which errs on the safe side.
        let current = self
            .inner
            .call("reset_load", Some(id), || backend.increment(&key, 0))
            .await?;
        if current != 0 {
            backend
                .increment(&key, -current)
                .await
                .during("reset_load", Some(id))?;
        }
        Ok(())
    }
}
