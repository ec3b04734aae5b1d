//! The crate's one error type.

use consort_protocol::StepNumber;

use crate::status::{RunState, StepState};
use crate::validation::Problem;

/// Everything building a workflow graph or driving a run can fail with. Each
/// message names the workflow, run, step or state key involved.
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
    /// An engine setting out of range.
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(String),
    /// No run with this id is recorded in the backend.
    #[error("run {run_id:?} not found")]
    RunNotFound {
        /// The run looked up.
        run_id: String,
    },
    /// `start` was given the id of a run that already exists.
    #[error("run {run_id:?} already exists; resume it or pick another id")]
    RunExists {
        /// The run id.
        run_id: String,
    },
    /// Another engine drives the run right now.
    #[error("run {run_id:?} is being driven by {holder:?}")]
    RunOwned {
        /// The run.
        run_id: String,
        /// Owner id of the engine holding the run's lease.
        holder: String,
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
    /// `answer_human` named a step that is not waiting for a human.
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
    /// The task driving a run started with `start` panicked or was aborted.
    #[error("run {run_id:?}: the task driving it stopped: {detail}")]
    DriverStopped {
        /// The run.
        run_id: String,
        /// The join error.
        detail: String,
    },
    /// A stored record could not be read back.
    #[error("run {run_id:?}: state key {key:?} holds an unreadable record: {detail}")]
    Corrupt {
        /// The run.
        run_id: String,
        /// The state key.
        key: String,
        /// What was wrong.
        detail: String,
    },
    /// The state backend failed.
    #[error("run {run_id:?}: {action}: {source}")]
    State {
        /// The run.
        run_id: String,
        /// What the engine was doing (`checkpointing step 3`).
        action: String,
        /// The backend's error (it names the key).
        #[source]
        source: consort_state::StateError,
    },
}

fn problems_text(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Result alias of this crate.
pub type Result<T, E = WorkflowError> = std::result::Result<T, E>;
