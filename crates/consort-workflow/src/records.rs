//! What a run leaves in the state backend, and the key scheme.
//!
//! | key | holds |
//! |---|---|
//! | `wf:run:{id}` | run record: workflow name, state, error, timestamps |
//! | `wf:run:{id}:spec` | the workflow definition and the run parameters (written once) |
//! | `wf:run:{id}:step:{n}` | step `n`: state, attempts, timestamps, outputs, error, question, answer (absent = pending, 0 attempts) |
//! | `wf:run:{id}:cancel` | set by `cancel` for a run driven by another engine |
//! | lease `wf:lease:{id}` | ownership of the run |
//! | counter `wf:exec:{key}` | executions per idempotency key (only [`SimulatedExecutor::counting_in`](crate::SimulatedExecutor::counting_in)) |

use bytes::Bytes;
use consort_protocol::{StepNumber, WorkflowSpec};
use jiff::Timestamp;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::error::Error;
use crate::executor::JsonMap;
use crate::graph::WorkflowGraph;
use crate::status::{RunState, RunStatus, StepState, StepStatus};

/// Longest accepted run id, in bytes.
pub const MAX_RUN_ID_LEN: usize = 128;

/// Checks that `run_id` can be used in state keys: 1 to [`MAX_RUN_ID_LEN`]
/// ASCII letters, digits, `-`, `_` or `.`.
pub fn validate_run_id(run_id: &str) -> Result<(), Error> {
    let reason = if run_id.is_empty() {
        Some("it is empty")
    } else if run_id.len() > MAX_RUN_ID_LEN {
        Some("it is longer than 128 bytes")
    } else if !run_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        Some("only ASCII letters, digits, '-', '_' and '.' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidRunId {
            run_id: run_id.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

pub(crate) fn run_key(run_id: &str) -> String {
    format!("wf:run:{run_id}")
}

pub(crate) fn spec_key(run_id: &str) -> String {
    format!("wf:run:{run_id}:spec")
}

pub(crate) fn step_key(run_id: &str, step: StepNumber) -> String {
    format!("wf:run:{run_id}:step:{step}")
}

pub(crate) fn cancel_key(run_id: &str) -> String {
    format!("wf:run:{run_id}:cancel")
}

pub(crate) fn lease_name(run_id: &str) -> String {
    format!("wf:lease:{run_id}")
}

/// `wf:run:{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    pub(crate) workflow: String,
    pub(crate) state: RunState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

/// `wf:run:{id}:spec`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SpecRecord {
    pub(crate) spec: WorkflowSpec,
    pub(crate) params: JsonMap,
}

/// `wf:run:{id}:step:{n}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    pub(crate) state: StepState,
    pub(crate) attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outputs: Option<JsonMap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) question: Option<String>,
    /// A human's answer, kept until the step completes so that a crash
    /// between the answer and the next attempt does not lose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) answer: Option<serde_json::Value>,
}

pub(crate) fn encode<T: Serialize>(run_id: &str, key: &str, value: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| Error::Corrupt {
            run_id: run_id.to_owned(),
            key: key.to_owned(),
            detail: e.to_string(),
        })
}

pub(crate) fn decode<T: DeserializeOwned>(
    run_id: &str,
    key: &str,
    bytes: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        run_id: run_id.to_owned(),
        key: key.to_owned(),
        detail: e.to_string(),
    })
}

pub(crate) fn percent(completed: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        // Step counts are far below 2^52, so the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        let share = completed as f64 * 100.0 / total as f64;
        share
    }
}

/// The status of a run from its graph, run record and step records (in step
/// index order).
pub(crate) fn assemble(
    run_id: &str,
    graph: &WorkflowGraph,
    state: RunState,
    error: Option<String>,
    records: &[StepRecord],
) -> RunStatus {
    let steps: Vec<StepStatus> = graph
        .steps()
        .iter()
        .zip(records)
        .map(|(info, rec)| StepStatus {
            id: info.number,
            name: info.name.clone(),
            expert: info.primary_expert.clone(),
            state: rec.state,
            attempts: rec.attempts,
            started_at: rec.started_at,
            finished_at: rec.finished_at,
            outputs: rec.outputs.clone(),
            error: rec.error.clone(),
            question: rec.question.clone(),
        })
        .collect();
    let completed = steps
        .iter()
        .filter(|s| s.state == StepState::Completed)
        .count();
    RunStatus {
        run_id: run_id.to_owned(),
        workflow: graph.name().to_owned(),
        state,
        percent_complete: percent(completed, steps.len()),
        error,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_checked() {
        assert!(validate_run_id("run-1_a.b").is_ok());
        for bad in ["", "a b", "a:b", "é", &"x".repeat(129)] {
            let err = validate_run_id(bad).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("run id {bad:?} is invalid")),
                "{err}"
            );
        }
    }
}
