//! Settling a run that stopped and returning its status.

use std::sync::Arc;

use consort_protocol::{EventKind, WorkflowProgress};
use consort_state::WriteOp;

use super::{Driver, Stop};
use crate::context::RunShared;
use crate::error::WorkflowError;
use crate::records::{StepRecord, assemble, cancel_key};
use crate::status::{RunState, RunStatus, StepState};

impl Driver {
    pub(super) async fn finish(mut self) -> Result<RunStatus, WorkflowError> {
        if self.stop >= Stop::FailFast {
            for index in 0..self.records.len() {
                match self.state_of(index) {
                    Some(StepState::Running | StepState::WaitingForHuman) => {
                        self.settle(index, StepState::Cancelled);
                    }
                    Some(StepState::Pending) => self.settle(index, StepState::Skipped),
                    _ => {}
                }
            }
        }
        let (state, error) = self.outcome();
        self.push_run_record(state, error.as_deref(), None);
        if self.durable() && state.is_finished() {
            self.ops.push(WriteOp::Delete {
                key: cancel_key(self.run_id()),
            });
        }
        self.flush().await?;
        if let Some(retention) = self.inner.config.retention
            && self.durable()
            && state.is_finished()
        {
            self.expire_records(retention).await;
        }
        let kind: fn(WorkflowProgress) -> EventKind = match state {
            RunState::Completed => EventKind::WorkflowCompleted,
            RunState::Cancelled => EventKind::WorkflowCancelled,
            RunState::WaitingForHuman => EventKind::WaitingForHuman,
            RunState::Paused => EventKind::WorkflowPaused,
            RunState::Failed | RunState::Running => EventKind::WorkflowFailed,
        };
        let Self {
            shared,
            records,
            settings,
            settings_changes,
            ownership,
            events,
            ..
        } = self;
        let mut status = status_of(shared, records, state, error);
        status.settings = Some(settings);
        status.settings_changes = settings_changes;
        events.emit(kind, None, status.percent_complete, status.error.as_deref());
        ownership.release().await;
        events.close().await;
        Ok(status)
    }

    pub(super) fn outcome(&self) -> (RunState, Option<String>) {
        let first_failure = || {
            self.graph()
                .steps()
                .iter()
                .zip(&self.records)
                .find_map(|(info, rec)| {
                    (rec.state == StepState::Failed).then(|| {
                        format!(
                            "{} failed: {}",
                            info.label(),
                            rec.error.as_deref().unwrap_or("unknown error")
                        )
                    })
                })
        };
        let any = |state| self.records.iter().any(|r| r.state == state);
        if self.stop == Stop::Cancel {
            (RunState::Cancelled, None)
        } else if self.stop == Stop::FailFast {
            (RunState::Failed, first_failure())
        } else if self.stop == Stop::Pause
            && (any(StepState::Pending)
                || any(StepState::Running)
                || any(StepState::WaitingForHuman))
        {
            (RunState::Paused, None)
        } else if any(StepState::WaitingForHuman) || any(StepState::Running) {
            (RunState::WaitingForHuman, None)
        } else if any(StepState::Failed) {
            (RunState::Failed, first_failure())
        } else if self.completed == self.records.len() {
            (RunState::Completed, None)
        } else {
            (
                RunState::Failed,
                Some("no step can run: dependencies never completed".to_owned()),
            )
        }
    }
}

/// The run's status from its records, with the outputs put back in: moved,
/// unless an executor kept a context of the run (then copied).
fn status_of(
    shared: Arc<RunShared>,
    mut records: Vec<StepRecord>,
    state: RunState,
    error: Option<String>,
) -> RunStatus {
    match Arc::try_unwrap(shared) {
        Ok(shared) => {
            for (record, outputs) in records.iter_mut().zip(shared.outputs) {
                record.outputs = outputs.into_inner();
            }
            assemble(&shared.run_id, &shared.plan, state, error, records)
        }
        Err(shared) => {
            for (record, outputs) in records.iter_mut().zip(&shared.outputs) {
                record.outputs = outputs.get().cloned();
            }
            assemble(&shared.run_id, &shared.plan, state, error, records)
        }
    }
}
