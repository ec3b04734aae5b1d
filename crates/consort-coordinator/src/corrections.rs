//! The routing corrections log in the state backend: every accepted
//! correction, in order, so that every router any process builds learns the
//! same things (the replay contract of `Router::learn`).
//!
//! Layout: a counter `coord:corrections:seq` numbers the corrections; each is
//! a JSON value at `coord:corrections:{seq:020}` (zero-padded, so key order is
//! log order). Only the newest [`KEEP`] are kept: the router halves a
//! correction's weight every 1,000 later ones, so older ones no longer count.
//! Each append is announced on [`TOPIC`] so other coordinators rebuild.

use bytes::Bytes;
use consort_router::Correction;
use consort_state::{StateBackend, StateError};

/// Corrections kept in the log.
pub(crate) const KEEP: i64 = 10_000;
/// Announces a new correction (payload: its sequence number).
pub(crate) const TOPIC: &str = "coord:correction";
const SEQ: &str = "coord:corrections:seq";
const PREFIX: &str = "coord:corrections:log:";
const PAGE: usize = 1_000;

fn key(seq: i64) -> String {
    format!("{PREFIX}{seq:020}")
}

/// Appends `correction` and announces it; returns its sequence number.
pub(crate) async fn append(
    backend: &dyn StateBackend,
    correction: &Correction,
) -> Result<i64, StateError> {
    let value = serde_json::to_vec(correction).map_err(|source| StateError::Serialization {
        key: PREFIX.to_owned(),
        source,
    })?;
    let seq = backend.increment(SEQ, 1).await?;
    backend.set(&key(seq), Bytes::from(value), None).await?;
    if seq > KEEP {
        backend.delete(&key(seq - KEEP)).await?;
    }
    // Pub/sub is at-most-once: a coordinator that misses this learns it at
    // its next rebuild or status refresh.
    if let Err(error) = backend.publish(TOPIC, Bytes::from(seq.to_string())).await {
        tracing::warn!(%error, "announcing a routing correction failed");
    }
    Ok(seq)
}

/// Every correction in the log, oldest first.
pub(crate) async fn load(backend: &dyn StateBackend) -> Result<Vec<Correction>, StateError> {
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = backend.list(PREFIX, cursor.as_ref(), PAGE).await?;
        keys.extend(page.keys);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    keys.sort_unstable();
    let mut corrections = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(PAGE) {
        for (key, stored) in chunk.iter().zip(backend.get_many(chunk).await?) {
            // Trimmed between the listing and the read: it no longer counts.
            let Some(stored) = stored else { continue };
            let correction = serde_json::from_slice(&stored.value).map_err(|source| {
                StateError::Serialization {
                    key: key.clone(),
                    source,
                }
            })?;
            corrections.push(correction);
        }
    }
    Ok(corrections)
}
