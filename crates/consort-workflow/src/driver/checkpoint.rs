//! What a turn writes: the run and step records, in one lease-guarded batch.

use std::sync::OnceLock;

use bytes::Bytes;
use consort_protocol::EventKind;
use consort_state::retry::retry_transient;
use consort_state::{Expect, StateError, WriteOp};
use jiff::Timestamp;

use super::Driver;
use crate::error::WorkflowError;
use crate::records::{
    RunRecordOut, StepRecordOut, encode_with, run_key, settings_json, spec_key, with_number,
};
use crate::status::RunState;

impl Driver {
    /// What a failed write means: the run's lease or records are gone (see
    /// [`lost_lease`](Self::lost_lease)), or the backend failed while doing
    /// `action`.
    pub(super) async fn write_failed(
        &self,
        action: &'static str,
        source: StateError,
    ) -> WorkflowError {
        let lost = match &source {
            StateError::LeaseLost { .. } => true,
            // Only another owner, or a backend that lost its data, moves the
            // turn key under a driver that holds the lease.
            StateError::VersionConflict { key, .. } => key.ends_with(":turn"),
            _ => false,
        };
        if lost {
            return self.lost_lease(self.outage).await;
        }
        WorkflowError::State {
            run_id: self.run_id().to_owned(),
            action,
            source,
        }
    }

    /// Why this engine lost the run's lease: the run's records are gone
    /// (the backend lost its data), the lease lapsed while the backend was
    /// unreachable (`during_outage`), or another engine took the run over.
    pub(super) async fn lost_lease(&self, during_outage: bool) -> WorkflowError {
        let run_id = self.run_id().to_owned();
        let backend = &self.inner.backend;
        let key = run_key(&run_id);
        let record = retry_transient(&self.inner.config.backend_retry, || backend.get(&key)).await;
        match record {
            Ok(None) => WorkflowError::RecordsGone { run_id },
            _ if during_outage => WorkflowError::LeaseLapsed {
                run_id,
                lease_ttl: self.inner.config.lease_ttl,
            },
            _ => WorkflowError::LeaseLost { run_id },
        }
    }

    /// Writes the run record and `spec` (the encoded spec record, for a
    /// durable run) of a new run; fails with [`WorkflowError::RunExists`] if
    /// the id is taken.
    pub(crate) async fn begin(&mut self, spec: Option<Bytes>) -> Result<(), WorkflowError> {
        if let Some(value) = spec {
            self.push_run_record(RunState::Running, None, Some(Expect::Absent));
            self.ops.push(WriteOp::Set {
                key: spec_key(self.run_id()),
                value,
                ttl: None,
            });
            let ops = std::mem::take(&mut self.ops);
            match self.apply(ops).await {
                Ok(()) => {}
                Err(StateError::VersionConflict { key, .. }) if key == run_key(self.run_id()) => {
                    return Err(WorkflowError::RunExists {
                        run_id: self.run_id().to_owned(),
                    });
                }
                Err(e) => return Err(self.write_failed("recording the new run", e).await),
            }
        }
        self.events
            .emit(EventKind::WorkflowStarted, None, 0.0, None);
        Ok(())
    }

    pub(super) fn push_run_record(
        &mut self,
        state: RunState,
        error: Option<&str>,
        expect: Option<Expect>,
    ) {
        if !self.durable() {
            return;
        }
        if self.settings_json.is_none() {
            match settings_json(&self.settings, &self.settings_changes) {
                Ok(json) => self.settings_json = Some(json),
                // Our own settings always encode; keep going without the record.
                Err(e) => {
                    tracing::error!(error = %e, "encoding the run's settings failed");
                    return;
                }
            }
        }
        let record = RunRecordOut {
            workflow: self.shared.plan.name(),
            state,
            error,
            created_at: self.created_at,
            updated_at: Timestamp::now(),
            settings_json: self.settings_json.as_deref().unwrap_or_default(),
        };
        let key = run_key(self.run_id());
        match encode_with(&mut self.buffer, &self.shared.run_id, &key, |out| {
            record.write_json(out)
        }) {
            Ok(value) => self.ops.push(match expect {
                Some(expect) => WriteOp::CompareAndSet {
                    key,
                    expect,
                    value,
                    ttl: None,
                },
                None => WriteOp::Set {
                    key,
                    value,
                    ttl: None,
                },
            }),
            // Our own record types always encode; keep going without it.
            Err(e) => tracing::error!(error = %e, "encoding the run record failed"),
        }
    }

    pub(super) fn checkpoint(&mut self, index: usize) {
        if !self.durable() {
            return;
        }
        let (Some(record), Some(info)) = (self.records.get(index), self.graph().steps().get(index))
        else {
            return;
        };
        // Made per write rather than kept per step: the batch takes the key.
        let key = with_number(&self.step_key_prefix, info.number);
        let out = StepRecordOut {
            record,
            outputs: self.shared.outputs.get(index).and_then(OnceLock::get),
        };
        match encode_with(&mut self.buffer, &self.shared.run_id, &key, |b| {
            out.write_json(b)
        }) {
            Ok(value) => self.ops.push(WriteOp::Set {
                key,
                value,
                ttl: None,
            }),
            Err(e) => tracing::error!(error = %e, "encoding a step record failed"),
        }
    }

    pub(super) async fn flush(&mut self) -> Result<(), WorkflowError> {
        if self.ops.is_empty() {
            return Ok(());
        }
        // The batch takes the vector. Turns come in runs of similar size (a
        // fan-out's starts, then its completions): room for as many writes
        // as this turn saves growing the next one step by step.
        let room = self.ops.len();
        let ops = std::mem::replace(&mut self.ops, Vec::with_capacity(room));
        match self.apply(ops).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.write_failed("checkpointing step states", e).await),
        }
    }
}
