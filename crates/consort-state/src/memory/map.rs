//! The sharded key/value map behind [`MemoryBackend`](super::MemoryBackend).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use bytes::Bytes;

use crate::backend::Version;

/// At most 64, so a batch can note the shards it locks in one `u64`.
pub(crate) const SHARDS: usize = 64;
const _: () = assert!(SHARDS <= 64);

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

/// The shard maps are keyed by [`StoredKey`], whose `Hash` writes only the
/// precomputed hash: a lookup never hashes the key string again, nor does
/// growing a shard.
pub(crate) type Shard = HashMap<StoredKey, Entry, BuildHasherDefault<TakeHash>>;

#[derive(Debug)]
pub(crate) struct ShardedMap {
    /// Keys come from users, so collisions must not be predictable: a
    /// per-map random seed. foldhash gives that at a fraction of SipHash's
    /// cost per key.
    hasher: foldhash::fast::RandomState,
    shards: Box<[RwLock<Shard>]>,
}

/// A key as it is stored: the string and its hash under the map's seeds.
#[derive(Debug)]
pub(crate) struct StoredKey {
    hash: u64,
    key: String,
}

impl StoredKey {
    /// `hash` must be [`Hashed::hash`] of `key` from the same map.
    pub(crate) fn new(hash: u64, key: String) -> Self {
        StoredKey { hash, key }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.key
    }
}

/// What a shard is searched by: a key and its hash, owned or borrowed.
pub(crate) trait KeyRef {
    fn hash(&self) -> u64;
    fn key(&self) -> &str;
}

impl KeyRef for StoredKey {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn key(&self) -> &str {
        &self.key
    }
}

/// A borrowed key with its hash, for lookups without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hashed<'k> {
    hash: u64,
    key: &'k str,
}

impl<'k> Hashed<'k> {
    /// `hash` must be [`Hashed::hash`] of `key` from the same map.
    pub(crate) fn new(hash: u64, key: &'k str) -> Self {
        Hashed { hash, key }
    }

    pub(crate) fn hash(self) -> u64 {
        self.hash
    }

    /// The shard holding this key.
    #[inline]
    pub(crate) fn shard(self) -> usize {
        shard_of(self.hash)
    }

    /// The form `HashMap::get` and friends take.
    #[inline]
    pub(crate) fn q(&self) -> &(dyn KeyRef + 'k) {
        self
    }

    pub(crate) fn to_stored(self) -> StoredKey {
        StoredKey::new(self.hash, self.key.to_owned())
    }
}

impl KeyRef for Hashed<'_> {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn key(&self) -> &str {
        self.key
    }
}

impl Hash for dyn KeyRef + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(KeyRef::hash(self));
    }
}

impl PartialEq for dyn KeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        KeyRef::hash(self) == KeyRef::hash(other) && self.key() == other.key()
    }
}

impl Eq for dyn KeyRef + '_ {}

impl Hash for Hashed<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Hash::hash(self.q(), state);
    }
}

impl PartialEq for Hashed<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.q() == other.q()
    }
}

impl Eq for Hashed<'_> {}

impl Hash for StoredKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Hash::hash(self as &dyn KeyRef, state);
    }
}

impl PartialEq for StoredKey {
    fn eq(&self, other: &Self) -> bool {
        (self as &dyn KeyRef) == (other as &dyn KeyRef)
    }
}

impl Eq for StoredKey {}

impl<'k> Borrow<dyn KeyRef + 'k> for StoredKey {
    fn borrow(&self) -> &(dyn KeyRef + 'k) {
        self
    }
}

/// Hands the precomputed hash written by [`KeyRef`]'s `Hash` to the map.
#[derive(Debug, Default)]
pub(crate) struct TakeHash(u64);

impl Hasher for TakeHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
    // Only `write_u64` is reached (keys hash as their stored hash); folding
    // the bytes keeps any other use correct, merely less well spread.
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
}

/// Bits 32..38 pick the shard: the shard map itself takes its bucket from the
/// low bits and its tag byte from the top 7, so keys sharing a shard still
/// spread over both.
#[inline]
pub(crate) fn shard_of(hash: u64) -> usize {
    ((hash >> 32) as usize) % SHARDS
}

impl ShardedMap {
    pub(crate) fn new() -> Self {
        ShardedMap {
            hasher: foldhash::fast::RandomState::default(),
            shards: (0..SHARDS)
                .map(|_| RwLock::new(HashMap::default()))
                .collect(),
        }
    }

    /// The one hash of `key` an operation computes: it picks the shard and
    /// finds the key inside it.
    #[inline]
    pub(crate) fn hash<'k>(&self, key: &'k str) -> Hashed<'k> {
        Hashed::new(self.hasher.hash_one(key.as_bytes()), key)
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
