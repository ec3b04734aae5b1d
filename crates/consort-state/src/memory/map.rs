//! The sharded key/value map behind [`MemoryBackend`](super::MemoryBackend).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use bytes::Bytes;

use crate::backend::Version;

const SHARDS: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) value: Bytes,
    pub(crate) version: Version,
    pub(crate) expires_at: Option<Instant>,
}

impl Entry {
    /// Reading the clock costs ~20 ns, so it is only read for keys that can expire.
    #[inline]
    pub(crate) fn live(&self) -> bool {
        match self.expires_at {
            None => true,
            Some(at) => Instant::now() < at,
        }
    }

    #[inline]
    pub(crate) fn live_at(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

pub(crate) type Shard = HashMap<String, Entry>;

#[derive(Debug)]
pub(crate) struct ShardedMap {
    shards: Box<[RwLock<Shard>]>,
}

/// FNV-1a: only picks a shard, so it needs to be fast, not DoS-resistant; the
/// per-shard `HashMap` keeps std's keyed hasher.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl ShardedMap {
    pub(crate) fn new() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
        }
    }

    #[inline]
    pub(crate) fn shard_of(&self, key: &str) -> usize {
        let mut h = Fnv::default();
        key.hash(&mut h);
        // Fold high bits in: FNV's low bits are weak for short keys.
        let x = h.finish();
        ((x ^ (x >> 29)) as usize) % SHARDS
    }

    // A panic while holding a shard lock cannot leave a half-written entry
    // (every write is a single insert/remove), so poisoning is ignored.
    #[inline]
    pub(crate) fn read(&self, idx: usize) -> RwLockReadGuard<'_, Shard> {
        self.shards[idx]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    pub(crate) fn write(&self, idx: usize) -> RwLockWriteGuard<'_, Shard> {
        self.shards[idx]
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Drops expired entries, one shard at a time so readers are blocked only briefly.
    pub(crate) fn sweep(&self) -> usize {
        let mut removed = 0;
        for idx in 0..self.shards.len() {
            let now = Instant::now();
            let mut shard = self.write(idx);
            let before = shard.len();
            shard.retain(|_, e| e.live_at(now));
            removed += before - shard.len();
        }
        removed
    }

    pub(crate) fn len_including_expired(&self) -> usize {
        (0..self.shards.len()).map(|i| self.read(i).len()).sum()
    }
}
