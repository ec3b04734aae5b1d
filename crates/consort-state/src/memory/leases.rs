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

impl Held {
    fn live(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

/// The leases of one store.
///
/// Tokens come from one counter for the whole store rather than one per
/// name: they still only ever grow for every name, and a lease released or
/// expired leaves nothing behind. A counter per name would have to be kept
/// forever, one entry for every lease ever taken (a workflow engine takes
/// one per run).
#[derive(Debug, Default)]
pub(crate) struct Leases {
    /// Seeded foldhash, like the key map: a guarded batch looks its lease up
    /// once per write, and SipHash costs several times as much.
    held: HashMap<String, Held, foldhash::fast::RandomState>,
    last_token: u64,
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
        match self.held.get_mut(name) {
            Some(h) if h.live(now) => {
                if h.holder != holder {
                    return None;
                }
                h.expires_at = now + ttl;
                h.ttl = ttl;
                Some(lease(name, h, ttl))
            }
            _ => {
                self.last_token += 1;
                let h = Held {
                    holder: holder.to_owned(),
                    token: self.last_token,
                    expires_at: now + ttl,
                    ttl,
                };
                let granted = lease(name, &h, ttl);
                self.held.insert(name.to_owned(), h);
                Some(granted)
            }
        }
    }

    /// The live lease `l` names, as `l`'s holder and token hold it.
    fn live_mut(&mut self, l: &Lease, now: Instant) -> Option<&mut Held> {
        self.held
            .get_mut(&l.name)
            .filter(|h| h.live(now) && h.token == l.token && h.holder == l.holder)
    }

    pub(crate) fn renew(&mut self, l: &Lease, ttl: Duration) -> Result<Lease> {
        let now = Instant::now();
        let h = self.live_mut(l, now).ok_or_else(|| StateError::LeaseLost {
            name: l.name.clone(),
            token: l.token,
        })?;
        h.expires_at = now + ttl;
        h.ttl = ttl;
        Ok(lease(&l.name, h, ttl))
    }

    pub(crate) fn release(&mut self, l: &Lease) -> bool {
        let now = Instant::now();
        let released = self.live_mut(l, now).is_some();
        if released {
            self.held.remove(&l.name);
        }
        released
    }

    pub(crate) fn current(&self, name: &str) -> Option<Lease> {
        let now = Instant::now();
        let h = self.held.get(name).filter(|h| h.live(now))?;
        Some(lease(name, h, h.expires_at.saturating_duration_since(now)))
    }

    pub(crate) fn check_guard(&self, guard: &LeaseGuard) -> Result<()> {
        let now = Instant::now();
        let ok = self
            .held
            .get(&*guard.name)
            .is_some_and(|h| h.live(now) && h.token == guard.token);
        if ok {
            Ok(())
        } else {
            Err(StateError::LeaseLost {
                name: guard.name.to_string(),
                token: guard.token,
            })
        }
    }

    /// Forgets expired leases.
    pub(crate) fn sweep(&mut self) {
        let now = Instant::now();
        self.held.retain(|_, h| h.live(now));
    }

    /// How many leases are held or expired but not yet swept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn tokens_grow_per_name_across_release_and_other_names() {
        let mut leases = Leases::default();
        let first = leases.acquire("a", "x", TTL).unwrap();
        assert!(leases.release(&first));
        let other = leases.acquire("b", "y", TTL).unwrap();
        let again = leases.acquire("a", "x", TTL).unwrap();
        assert!(first.token < other.token && other.token < again.token);
        // A released lease's guard no longer passes, though the name is held.
        assert!(leases.check_guard(&first.guard()).is_err());
        assert!(leases.check_guard(&again.guard()).is_ok());
    }

    #[test]
    fn released_and_expired_leases_leave_nothing_behind() {
        let mut leases = Leases::default();
        for run in 0..100 {
            let lease = leases
                .acquire(&format!("run-{run}"), "engine", TTL)
                .unwrap();
            assert!(leases.release(&lease));
        }
        leases.acquire("short", "engine", Duration::ZERO).unwrap();
        leases.acquire("kept", "engine", TTL).unwrap();
        leases.sweep();
        assert_eq!(leases.len(), 1);
        assert!(leases.current("kept").is_some());
    }

    #[test]
    fn a_stale_holder_cannot_release_or_renew_the_new_one() {
        let mut leases = Leases::default();
        let stale = leases.acquire("a", "x", Duration::ZERO).unwrap();
        let fresh = leases.acquire("a", "y", TTL).unwrap();
        assert!(!leases.release(&stale));
        assert!(leases.renew(&stale, TTL).is_err());
        assert_eq!(leases.current("a").map(|l| l.token), Some(fresh.token));
    }
}
