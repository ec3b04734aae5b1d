//! Writing a batch to a backend shared across processes, where a timeout or
//! a dropped connection leaves its outcome unknown: retried through
//! transient errors within [`EngineConfig::backend_retry`](crate::EngineConfig::backend_retry),
//! recognised afterwards by the run's turn key, and never applied twice.
//!
//! Every such batch also compare-and-sets `wf:run:{id}:turn` to
//! `{lease token}:{turn number}`, from the version the previous batch left:
//!
//! - a retry of a batch whose first attempt did apply fails on the turn key,
//!   and reading the key back (this batch's own value) says that it applied;
//! - a stale copy of a batch (sent before an outage, executed by the server
//!   after its retry and later batches) fails on the turn key and changes
//!   nothing, so older step records never overwrite newer ones;
//! - a batch that did not apply is applied by the retry.
//!
//! In-process backends answer every call for certain: their batches go out
//! once, as they are.

use bytes::Bytes;
use consort_state::retry::retry_transient;
use consort_state::{Batch, Expect, StateError, Version, WriteOp};

use super::Driver;
use crate::records::turn_key;

/// The run's turn counter, for a backend shared across processes.
pub(crate) struct Turn {
    key: String,
    /// The fencing token of this engine's lease: no other owner's value can
    /// equal one of ours.
    token: u64,
    number: u64,
    /// What the turn key holds now, as far as this driver wrote it.
    expect: Expect,
}

impl Turn {
    /// The counter of run `run_id` owned under lease `token`, whose turn key
    /// is at version `stored` (absent for a new run).
    pub(crate) fn new(run_id: &str, token: u64, stored: Option<Version>) -> Self {
        Self {
            key: turn_key(run_id),
            token,
            number: 0,
            expect: stored.map_or(Expect::Absent, Expect::Version),
        }
    }

    fn next_value(&self) -> Bytes {
        Bytes::from(format!("{}:{}", self.token, self.number + 1))
    }

    fn advance(&mut self, version: Version) {
        self.number += 1;
        self.expect = Expect::Version(version);
    }
}

impl Driver {
    /// Applies `ops` in one batch guarded by the run's lease; with a turn
    /// counter, through transient errors and at most once (see the module
    /// docs). On failure, [`Driver::outage`] says whether the backend was
    /// unreachable meanwhile.
    pub(super) async fn apply(&mut self, mut ops: Vec<WriteOp>) -> consort_state::Result<()> {
        let guard = self.guard.clone();
        let backend = &self.inner.backend;
        let Some(turn) = self.turn.as_mut() else {
            return backend.apply(Batch { guard, ops }).await.map(drop);
        };
        let value = turn.next_value();
        ops.push(WriteOp::CompareAndSet {
            key: turn.key.clone(),
            expect: turn.expect,
            value: value.clone(),
            ttl: None,
        });
        let batch = Batch { guard, ops };
        let budget = &self.inner.config.backend_retry;
        let mut attempts = 0u32;
        let applied = retry_transient(budget, || {
            attempts += 1;
            backend.apply(batch.clone())
        })
        .await;
        self.outage = attempts > 1;
        let version = match applied {
            Ok(versions) => versions.last().copied().flatten(),
            Err(e) if self.outage && !e.is_transient() => {
                // An attempt whose reply was lost may have applied it.
                let now = retry_transient(budget, || backend.get(&turn.key)).await?;
                match now {
                    Some(stored) if stored.value == value => Some(stored.version),
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let version = version.ok_or_else(|| StateError::Corrupt {
            key: turn.key.clone(),
            detail: "the backend returned no version for a compare-and-set".to_owned(),
        })?;
        turn.advance(version);
        Ok(())
    }
}
