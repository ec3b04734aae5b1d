//! Versions made on the client: `writer id << 20 | sequence`.
//!
//! Storing the version inside the value keeps `get` and `set` single plain
//! commands (`GET`, `SET`) as fast as raw redis-rs. Each backend takes a
//! writer id from `{ns}:meta:writers` (seeded with the clock, so ids stay
//! unique even if that counter is lost in a restart) and a fresh one every
//! 2^20 writes.

use std::sync::PoisonError;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{RedisBackend, scripts};
use crate::backend::Version;
use crate::error::{Result, StateError};

const SEQ_BITS: u32 = 20;
const MAX_WRITER_ID: u64 = (1 << (64 - SEQ_BITS)) - 1;

/// The current block of versions: `next..end` are still free.
#[derive(Debug, Default)]
pub(super) struct Versions {
    next: u64,
    end: u64,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(1)
}

impl RedisBackend {
    /// `n` fresh versions, taking the lock once when the current block suffices.
    pub(super) async fn next_versions(&self, n: usize) -> Result<Vec<Version>> {
        let mut out = Vec::with_capacity(n);
        {
            let mut v = self
                .inner
                .versions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let take = (v.end.saturating_sub(v.next)).min(n as u64);
            out.extend(v.next..v.next + take);
            v.next += take;
        }
        while out.len() < n {
            out.push(self.next_version().await?);
        }
        Ok(out)
    }

    pub(super) async fn next_version(&self) -> Result<Version> {
        loop {
            {
                let mut v = self
                    .inner
                    .versions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if v.next < v.end {
                    let out = v.next;
                    v.next += 1;
                    return Ok(out);
                }
            }
            let key = self.ns_key("meta", "writers");
            let mut conn = self.conn();
            let mut inv = scripts::WRITER_ID.prepare_invoke();
            inv.key(&key).arg(unix_ms());
            let id: u64 = self
                .run("reserve writer id", &key, inv.invoke_async(&mut conn))
                .await?;
            if id == 0 || id > MAX_WRITER_ID {
                return Err(StateError::Corrupt {
                    key,
                    detail: format!("writer id {id} out of range 1..={MAX_WRITER_ID}"),
                });
            }
            let mut v = self
                .inner
                .versions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Another task may have refilled meanwhile; then this id is simply unused.
            if v.next >= v.end {
                v.next = (id << SEQ_BITS) | 1;
                v.end = (id + 1) << SEQ_BITS;
            }
        }
    }
}
