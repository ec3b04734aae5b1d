//! Leases with fencing tokens for [`MemoryBackend`](super::MemoryBackend).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::backend::{Lease, LeaseGuard};
use crate::error::{Result, StateError};

#[derive(Debug)]
struct Held {
    holder: String,
    token: u64,
    expires_at: Instant,
    ttl: Duration,
}

/// Per lease name: the last token ever issued (kept after release/expiry so
/// tokens never go backwards) and the current holder, if any.
#[derive(Debug, Default)]
struct Slot {
    last_token: u64,
    held: Option<Held>,
}

impl Slot {
    fn live(&self, now: Instant) -> Option<&Held> {
        self.held.as_ref().filter(|h| now < h.expires_at)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Leases {
    /// Seeded foldhash, like the key map: a guarded batch looks its lease up
    /// once per write, and SipHash costs several times as much.
    slots: HashMap<String, Slot, foldhash::fast::RandomState>,
}

fn lease(name: &str, h: &Held, ttl: Duration) -> Lease {
    Lease {
        name: name.to_owned(),
        holder: h.holder.clone(),
        token: h.token,
        ttl,
    }
}

impl Leases {
    pub(crate) fn acquire(&mut self, name: &str, holder: &str, ttl: Duration) -> Option<Lease> {
        let now = Instant::now();
        let slot = self.slots.entry(name.to_owned()).or_default();
        if let Some(h) = slot.live(now) {
            if h.holder != holder {
                return None;
            }
        } else {
            slot.last_token += 1;
            slot.held = Some(Held {
                holder: holder.to_owned(),
                token: slot.last_token,
                expires_at: now + ttl,
                ttl,
            });
        }
        let h = slot.held.as_mut()?;
        h.expires_at = now + ttl;
        h.ttl = ttl;
        Some(lease(name, h, ttl))
    }

    pub(crate) fn renew(&mut self, l: &Lease, ttl: Duration) -> Result<Lease> {
        let now = Instant::now();
        let lost = || StateError::LeaseLost {
            name: l.name.clone(),
            token: l.token,
        };
        let slot = self.slots.get_mut(&l.name).ok_or_else(lost)?;
        let live = slot
            .live(now)
            .is_some_and(|h| h.token == l.token && h.holder == l.holder);
        if !live {
            return Err(lost());
        }
        let h = slot.held.as_mut().ok_or_else(lost)?;
        h.expires_at = now + ttl;
        h.ttl = ttl;
        Ok(lease(&l.name, h, ttl))
    }

    pub(crate) fn release(&mut self, l: &Lease) -> bool {
        let now = Instant::now();
        match self.slots.get_mut(&l.name) {
            Some(slot)
                if slot
                    .live(now)
                    .is_some_and(|h| h.token == l.token && h.holder == l.holder) =>
            {
                slot.held = None;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn current(&self, name: &str) -> Option<Lease> {
        let now = Instant::now();
        let slot = self.slots.get(name)?;
        let h = slot.live(now)?;
        Some(lease(name, h, h.expires_at.saturating_duration_since(now)))
    }

    pub(crate) fn check_guard(&self, guard: &LeaseGuard) -> Result<()> {
        let now = Instant::now();
        let ok = self
            .slots
            .get(&*guard.name)
            .and_then(|s| s.live(now))
            .is_some_and(|h| h.token == guard.token);
        if ok {
            Ok(())
        } else {
            Err(StateError::LeaseLost {
                name: guard.name.to_string(),
                token: guard.token,
            })
        }
    }

    /// Forgets expired holders but keeps their last token.
    pub(crate) fn sweep(&mut self) {
        let now = Instant::now();
        for slot in self.slots.values_mut() {
            if slot.held.as_ref().is_some_and(|h| now >= h.expires_at) {
                slot.held = None;
            }
        }
    }
}
