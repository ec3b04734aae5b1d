//! The patterns a namespace's subscribers listen on. Publishers ask
//! [`StateBackend::may_have_subscribers`](crate::StateBackend::may_have_subscribers)
//! before they encode an event, so a bus nobody listens on costs nothing;
//! the broadcast channel alone cannot tell, because every subscriber of the
//! namespace receives every message and filters by pattern itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::key::glob_match;

use super::lock;

/// How many live subscriptions use each pattern.
#[derive(Debug, Default)]
pub(super) struct Listeners {
    patterns: Mutex<HashMap<String, usize>>,
    /// Live subscriptions in all: a bus nobody listens on, the common case
    /// (a workflow asks before each of its events), answers without the lock.
    live: AtomicUsize,
}

impl Listeners {
    /// Counts a subscription on `pattern` until the guard is dropped.
    pub(super) fn listen(self: &Arc<Self>, pattern: &str) -> Listening {
        *lock(&self.patterns).entry(pattern.to_owned()).or_default() += 1;
        self.live.fetch_add(1, Ordering::Release);
        Listening {
            listeners: Arc::clone(self),
            pattern: pattern.to_owned(),
        }
    }

    /// True if a live subscription's pattern matches `topic`.
    pub(super) fn any_for(&self, topic: &str) -> bool {
        if self.live.load(Ordering::Acquire) == 0 {
            return false;
        }
        lock(&self.patterns)
            .keys()
            .any(|pattern| glob_match(pattern, topic))
    }
}

/// One live subscription's pattern; dropping it (with the subscription)
/// uncounts it.
#[derive(Debug)]
pub(super) struct Listening {
    listeners: Arc<Listeners>,
    pattern: String,
}

impl Listening {
    pub(super) fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.listeners.live.fetch_sub(1, Ordering::Release);
        let mut patterns = lock(&self.listeners.patterns);
        if let Some(count) = patterns.get_mut(&self.pattern) {
            *count -= 1;
            if *count == 0 {
                patterns.remove(&self.pattern);
            }
        }
    }
}
