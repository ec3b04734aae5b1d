//! Reading a run back from the backend: its records, its definition and its
//! step states.

use std::sync::Arc;

use consort_state::StateBackend;
use consort_state::retry::{RetryBudget, retry_transient};

use crate::error::WorkflowError;
use crate::graph::Plan;
use crate::records::{
    RunRecord, SpecRecord, StepRecord, assemble, cancel_key, decode, run_key, spec_key, step_keys,
    turn_key,
};
use crate::status::RunStatus;

/// Everything the backend holds about a run.
pub(crate) struct Stored {
    pub(crate) run: RunRecord,
    pub(crate) spec: SpecRecord,
    pub(crate) graph: Arc<Plan>,
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) cancel_requested: bool,
    /// The version of the run's turn key, if it has one.
    pub(crate) turn_version: Option<consort_state::Version>,
}

impl Stored {
    /// The run's status as recorded (without its owner).
    pub(crate) fn status(self, run_id: &str) -> RunStatus {
        let Self {
            run, graph, steps, ..
        } = self;
        let mut status = assemble(run_id, &graph, run.state, run.error, steps);
        status.settings = run.settings;
        status.settings_changes = run.settings_changes;
        status
    }
}

/// The run record of `run_id`, read through transient errors within `budget`.
pub(crate) async fn run_record(
    backend: &dyn StateBackend,
    budget: &RetryBudget,
    run_id: &str,
) -> Result<RunRecord, WorkflowError> {
    let key = run_key(run_id);
    let stored = retry_transient(budget, || backend.get(&key))
        .await
        .map_err(WorkflowError::state(run_id, "reading the run record"))?
        .ok_or_else(|| WorkflowError::RunNotFound {
            run_id: run_id.to_owned(),
        })?;
    decode(run_id, &key, &stored.value)
}

/// Everything about run `run_id`: two reads, one for the run, its
/// definition, a cancel request and its turn key, one for the step records;
/// each through transient errors within `budget`.
pub(crate) async fn load(
    backend: &dyn StateBackend,
    budget: &RetryBudget,
    run_id: &str,
) -> Result<Stored, WorkflowError> {
    let keys = [
        run_key(run_id),
        spec_key(run_id),
        cancel_key(run_id),
        turn_key(run_id),
    ];
    let mut found = retry_transient(budget, || backend.get_many(&keys))
        .await
        .map_err(WorkflowError::state(run_id, "reading the run"))?
        .into_iter();
    let (Some(Some(run)), Some(spec), Some(cancel), Some(turn)) =
        (found.next(), found.next(), found.next(), found.next())
    else {
        return Err(WorkflowError::RunNotFound {
            run_id: run_id.to_owned(),
        });
    };
    let [run_key, spec_key, ..] = &keys;
    let run: RunRecord = decode(run_id, run_key, &run.value)?;
    let Some(spec) = spec else {
        return Err(WorkflowError::MissingRecord {
            run_id: run_id.to_owned(),
            key: spec_key.clone(),
        });
    };
    let spec: SpecRecord = decode(run_id, spec_key, &spec.value)?;
    let graph = Plan::build(&spec.spec, None).map_err(|e| match e {
        WorkflowError::Invalid { problems, .. } => WorkflowError::StoredDefinitionInvalid {
            run_id: run_id.to_owned(),
            key: spec_key.clone(),
            problems,
        },
        other => other,
    })?;
    let step_keys = step_keys(run_id, &graph);
    let values = retry_transient(budget, || backend.get_many(&step_keys))
        .await
        .map_err(WorkflowError::state(run_id, "reading the step records"))?;
    let steps = step_keys
        .iter()
        .zip(values)
        .map(|(key, value)| match value {
            Some(v) => decode::<StepRecord>(run_id, key, &v.value),
            None => Ok(StepRecord::default()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Stored {
        run,
        spec,
        graph: Arc::new(graph),
        steps,
        cancel_requested: cancel.is_some(),
        turn_version: turn.map(|t| t.version),
    })
}
