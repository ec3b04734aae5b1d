//! The crate's one error type.

use std::time::Duration;

use consort_protocol::StepNumber;

use crate::status::{RunState, StepState};
use crate::validation::Problem;

/// Everything building a workflow graph or driving a run can fail with. Each
/// message names the workflow, run, step, setting or state key involved, and
/// the underlying cause stays reachable through
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowError {
    /// The workflow definition has problems (all of them are listed).
    #[error("workflow {workflow:?} is invalid: {}", problems_text(.problems))]
    Invalid {
        /// The workflow's name.
        workflow: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A run id that cannot be used in state keys.
    #[error("run id {run_id:?} is invalid: {reason}")]
    InvalidRunId {
        /// The rejected id.
        run_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An engine or run setting out of range.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting (`concurrency`, `retry.max_attempts`, `lease_ttl`).
        field: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// The definition (with the run's parameters) does not fit in one value
    /// of the backend; nothing was written.
    #[error(
        "workflow {workflow:?} takes {size} bytes as stored with a run, over the backend's limit of {limit} bytes"
    )]
    DefinitionTooLarge {
        /// The workflow's name.
        workflow: String,
        /// The size of the record holding the definition and parameters.
        size: usize,
        /// The backend's largest value.
        limit: usize,
    },
    /// No run with this id is recorded in the backend.
    #[error("run {run_id:?} not found")]
    RunNotFound {
        /// The run looked up.
        run_id: String,
    },
    /// A new run was given the id of a run that already exists.
    #[error("run {run_id:?} already exists; resume it or pick another id")]
    RunExists {
        /// The run id.
        run_id: String,
    },
    /// Another engine drives the run right now.
    #[error("run {run_id:?} is being driven by {holder:?}{}", lapse_text(*.lease_lapses_in))]
    RunOwned {
        /// The run.
        run_id: String,
        /// Owner id of the engine holding the run's lease.
        holder: String,
        /// When the holder's lease lapses unless it is renewed (a live holder
        /// renews it; a dead one does not), when the backend says.
        lease_lapses_in: Option<Duration>,
    },
    /// The run is completed, failed or cancelled and cannot be continued.
    #[error("run {run_id:?} is {state} and cannot be continued")]
    RunFinished {
        /// The run.
        run_id: String,
        /// Its final state.
        state: RunState,
    },
    /// The run has no step with this number.
    #[error("run {run_id:?} has no step {step}")]
    UnknownStep {
        /// The run.
        run_id: String,
        /// The step asked for.
        step: StepNumber,
    },
    /// A human's answer was given for a step that is not waiting for one.
    #[error("step {step} of run {run_id:?} is {state}, not waiting for a human")]
    NotWaitingForHuman {
        /// The run.
        run_id: String,
        /// The step.
        step: StepNumber,
        /// Its actual state.
        state: StepState,
    },
    /// The engine lost the run's lease (it expired or another engine took it
    /// over); it stopped driving and wrote nothing more.
    #[error("run {run_id:?}: lease lost, another engine may drive it now")]
    LeaseLost {
        /// The run.
        run_id: String,
    },
    /// The backend was unreachable for longer than the run's lease lasts, so
    /// the lease lapsed: this engine stopped driving the run and wrote
    /// nothing more. Its records are as the last checkpoint left them; a
    /// resume (here or in any engine) continues from there.
    #[error(
        "run {run_id:?}: its lease lapsed while the backend was unreachable (longer than the lease TTL of {lease_ttl:?}); this engine stopped driving it, and a resume continues it from its last checkpoint"
    )]
    LeaseLapsed {
        /// The run.
        run_id: String,
        /// The lease TTL the outage outlasted.
        lease_ttl: Duration,
    },
    /// The backend answers again but the run's records are not there any
    /// more: it lost its data (restarted without persistence, flushed).
    #[error(
        "run {run_id:?}: the run's records are gone from the backend; was Redis restarted without persistence?"
    )]
    RecordsGone {
        /// The run.
        run_id: String,
    },
    /// The task driving a run started with `start` panicked or was aborted.
    #[error("run {run_id:?}: the task driving it stopped: {source}")]
    DriverStopped {
        /// The run.
        run_id: String,
        /// Why the task ended.
        #[source]
        source: tokio::task::JoinError,
    },
    /// A stored record could not be read back.
    #[error("run {run_id:?}: state key {key:?} holds an unreadable record: {source}")]
    Corrupt {
        /// The run.
        run_id: String,
        /// The state key.
        key: String,
        /// What the decoder found (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A record could not be encoded (a run parameter or output that JSON
    /// cannot hold); nothing was written.
    #[error("run {run_id:?}: the record for state key {key:?} cannot be encoded: {source}")]
    Encode {
        /// The run.
        run_id: String,
        /// The state key it was meant for.
        key: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The run record exists but a record it needs does not.
    #[error("run {run_id:?}: state key {key:?} is missing although the run is recorded")]
    MissingRecord {
        /// The run.
        run_id: String,
        /// The missing key.
        key: String,
    },
    /// The definition stored with the run no longer validates (it was
    /// written by another version, or edited in the backend).
    #[error("run {run_id:?}: the definition stored under {key:?} is invalid: {}", problems_text(.problems))]
    StoredDefinitionInvalid {
        /// The run.
        run_id: String,
        /// Where the definition is stored.
        key: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// The state backend failed.
    #[error("run {run_id:?}: {action}: {source}")]
    State {
        /// The run.
        run_id: String,
        /// What the engine was doing (`checkpointing step states`).
        action: &'static str,
        /// The backend's error (it names the key).
        #[source]
        source: consort_state::StateError,
    },
}

impl WorkflowError {
    /// True for errors that may go away by trying again later: exactly the
    /// wrapped [`StateError`](consort_state::StateError)s that are transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::State { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    /// A backend failure while doing `action` for run `run_id`.
    pub(crate) fn state(
        run_id: &str,
        action: &'static str,
    ) -> impl FnOnce(consort_state::StateError) -> Self {
        let run_id = run_id.to_owned();
        move |source| Self::State {
            run_id,
            action,
            source,
        }
    }
}

fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn lapse_text(lapses_in: Option<Duration>) -> String {
    match lapses_in {
        Some(left) => format!(
            "; its lease lapses in {:.1} s unless renewed",
            left.as_secs_f64()
        ),
        None => String::new(),
    }
}

/// Result alias of this crate.
pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::time::Duration;

    use super::*;

    #[test]
    fn backend_causes_stay_typed_and_decide_transience() {
        let timeout = consort_state::StateError::Timeout {
            operation: "apply",
            key_or_topic: "wf:run:r".to_owned(),
            after: Duration::from_secs(2),
        };
        let err = WorkflowError::state("r", "checkpointing step states")(timeout);
        assert!(err.is_transient());
        let source = err
            .source()
            .and_then(|s| s.downcast_ref::<consort_state::StateError>());
        assert!(matches!(
            source,
            Some(consort_state::StateError::Timeout { .. })
        ));

        let lost = consort_state::StateError::LeaseLost {
            name: "wf:lease:r".to_owned(),
            token: 3,
        };
        assert!(!WorkflowError::state("r", "renewing")(lost).is_transient());
        assert!(
            !WorkflowError::RunNotFound {
                run_id: "r".to_owned()
            }
            .is_transient()
        );
    }

    #[test]
    fn a_refused_run_says_when_the_lease_lapses() {
        let err = WorkflowError::RunOwned {
            run_id: "r".to_owned(),
            holder: "engine-1".to_owned(),
            lease_lapses_in: Some(Duration::from_millis(12_300)),
        };
        assert_eq!(
            err.to_string(),
            "run \"r\" is being driven by \"engine-1\"; its lease lapses in 12.3 s unless renewed"
        );
    }
}
