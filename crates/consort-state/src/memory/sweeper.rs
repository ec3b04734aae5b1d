//! The task that frees a namespace's expired keys and leases.
//!
//! Reads never return expired data either way; the sweep only gives the
//! memory back. It runs on a tokio runtime, which a namespace may be opened
//! without (a store built in a synchronous `main`, before the runtime), and
//! a runtime it ran on may shut down while the data lives on. So it is
//! started when the namespace opens and again by any write that can leave
//! an expiring entry, whenever none runs: a namespace written to from a
//! runtime is swept, whatever runtime it was opened in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{NsData, lock};

/// Shortest accepted sweep interval: a sweep locks every shard in turn.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Whether a sweep task runs for a namespace, and how often it sweeps.
#[derive(Debug)]
pub(super) struct Sweeper {
    running: AtomicBool,
    every: Duration,
}

impl Sweeper {
    pub(super) fn new(every: Duration) -> Self {
        Self {
            running: AtomicBool::new(false),
            every: every.max(MIN_INTERVAL),
        }
    }

    /// Starts `ns`'s sweep task on the current runtime, unless one runs or
    /// there is no runtime here. One relaxed load when it runs, so every
    /// write may call it.
    pub(super) fn ensure(ns: &Arc<NsData>) {
        let sweeper = &ns.sweeper;
        if sweeper.running.load(Ordering::Relaxed) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if sweeper.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let every = sweeper.every;
        let stopped = Stopped(Arc::downgrade(ns));
        handle.spawn(async move {
            // Dropped with the task, also when its runtime shuts down: the
            // next write from a live runtime starts another.
            let stopped = stopped;
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(ns) = stopped.0.upgrade() else {
                    return;
                };
                let removed = ns.kv.sweep();
                lock(&ns.leases).sweep();
                if removed > 0 {
                    tracing::trace!(namespace = %ns.name, removed, "swept expired keys");
                }
            }
        });
    }
}

/// Marks the sweep task of a namespace as gone when the task ends.
struct Stopped(Weak<NsData>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(ns) = self.0.upgrade() {
            ns.sweeper.running.store(false, Ordering::Release);
        }
    }
}
