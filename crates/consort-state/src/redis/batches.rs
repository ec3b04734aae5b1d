//! Atomic batches: `MSET` for plain sets, `MULTI`/`EXEC` for other
//! unconditional batches, the `APPLY` script for guarded or conditional ones.

use redis::Value;
use tracing::{Instrument, debug_span};

use super::codec::{Blob, as_bytes, as_int, expect_arg, ttl_ms, version_of};
use super::errors::unexpected;
use super::{BACKEND, RedisBackend, scripts};
use crate::backend::{Batch, Version, WriteOp};
use crate::error::{Result, StateError};
use crate::key::validate_batch;

impl RedisBackend {
    pub(super) async fn apply_batch(&self, batch: &Batch) -> Result<Vec<Option<Version>>> {
        validate_batch(batch, self.max_value_bytes())?;
        if batch.ops.is_empty() && batch.guard.is_none() {
            return Ok(Vec::new());
        }
        let writes = batch
            .ops
            .iter()
            .filter(|op| !matches!(op, WriteOp::Delete { .. }))
            .count();
        let mut fresh = self.next_versions(writes).await?.into_iter();
        let versions: Vec<Option<Version>> = batch
            .ops
            .iter()
            .map(|op| match op {
                WriteOp::Delete { .. } => None,
                _ => fresh.next(),
            })
            .collect();
        let what = batch
            .ops
            .first()
            .map(WriteOp::key)
            .unwrap_or("(empty batch)");
        let span = debug_span!("state.apply", backend = BACKEND, ops = batch.ops.len());
        let plain = batch.guard.is_none()
            && batch
                .ops
                .iter()
                .all(|op| !matches!(op, WriteOp::CompareAndSet { .. }));
        let only_sets = batch
            .ops
            .iter()
            .all(|op| matches!(op, WriteOp::Set { ttl: None, .. }));
        if plain && only_sets {
            // MSET is atomic and the cheapest way to write many keys.
            let mut cmd = redis::cmd("MSET");
            for (op, version) in batch.ops.iter().zip(&versions) {
                if let WriteOp::Set { key, value, .. } = op {
                    let version = version.unwrap_or_default();
                    cmd.arg(self.kv(key)).arg(Blob { version, value });
                }
            }
            let mut conn = self.conn();
            let () = self
                .run("apply", what, cmd.exec_async(&mut conn))
                .instrument(span)
                .await?;
            return Ok(versions);
        }
        if plain {
            // Nothing to check first: a MULTI/EXEC transaction is atomic and
            // much cheaper for the server than the script.
            let mut pipe = redis::pipe();
            pipe.atomic();
            for (op, version) in batch.ops.iter().zip(&versions) {
                match op {
                    WriteOp::Delete { key } => {
                        pipe.cmd("DEL").arg(self.kv(key)).ignore();
                    }
                    WriteOp::Set { key, value, ttl }
                    | WriteOp::CompareAndSet {
                        key, value, ttl, ..
                    } => {
                        let version = version.unwrap_or_default();
                        let c = pipe
                            .cmd("SET")
                            .arg(self.kv(key))
                            .arg(Blob { version, value });
                        if let Some(t) = ttl {
                            c.arg("PX").arg(ttl_ms(*t));
                        }
                        c.ignore();
                    }
                }
            }
            let mut conn = self.conn();
            let () = self
                .run("apply", what, pipe.exec_async(&mut conn))
                .instrument(span)
                .await?;
            return Ok(versions);
        }
        let mut inv = scripts::APPLY.prepare_invoke();
        match &batch.guard {
            Some(g) => {
                inv.key(self.ns_key("lease", &g.name)).arg("1").arg(g.token);
            }
            None => {
                inv.arg("0").arg("");
            }
        }
        for (op, version) in batch.ops.iter().zip(&versions) {
            inv.key(self.kv(op.key()));
            match op {
                WriteOp::Delete { .. } => {
                    inv.arg("D").arg("").arg("").arg(0);
                }
                WriteOp::Set { value, ttl, .. } => {
                    let version = version.unwrap_or_default();
                    inv.arg("S")
                        .arg("")
                        .arg(Blob { version, value })
                        .arg(ttl.map_or(0, ttl_ms));
                }
                WriteOp::CompareAndSet {
                    expect, value, ttl, ..
                } => {
                    let version = version.unwrap_or_default();
                    inv.arg("C")
                        .arg(expect_arg(*expect))
                        .arg(Blob { version, value })
                        .arg(ttl.map_or(0, ttl_ms));
                }
            }
        }
        let mut conn = self.conn();
        let reply: Vec<Value> = self
            .run("apply", what, inv.invoke_async(&mut conn))
            .instrument(span)
            .await?;
        match reply.first().and_then(as_bytes) {
            Some(b"ok") => Ok(versions),
            Some(b"lease") => {
                let g = batch.guard.as_ref();
                Err(StateError::LeaseLost {
                    name: g.map(|g| g.name.to_string()).unwrap_or_default(),
                    token: g.map_or(0, |g| g.token),
                })
            }
            Some(b"conflict") => {
                let idx = reply
                    .get(1)
                    .and_then(as_int)
                    .and_then(|i| usize::try_from(i).ok());
                match idx.and_then(|i| batch.ops.get(i)) {
                    Some(WriteOp::CompareAndSet { key, expect, .. }) => {
                        Err(StateError::VersionConflict {
                            key: key.clone(),
                            expected: *expect,
                            actual: reply.get(2).and_then(as_bytes).and_then(version_of),
                        })
                    }
                    _ => Err(unexpected("apply", what, format!("{reply:?}"))),
                }
            }
            _ => Err(unexpected("apply", what, format!("{reply:?}"))),
        }
    }
}
