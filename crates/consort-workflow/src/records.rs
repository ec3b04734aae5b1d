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

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use consort_protocol::{StepNumber, WorkflowSpec};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::DeserializeOwned};

use crate::error::Error;
use crate::executor::JsonMap;
use crate::graph::Plan;
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

/// The record key of every step of `graph`, in step index order. Made once
/// per run: a step's record is written at least twice (running, completed).
pub(crate) fn step_keys(run_id: &str, graph: &Plan) -> Vec<String> {
    let prefix = format!("wf:run:{run_id}:step:");
    graph
        .steps()
        .iter()
        .map(|s| with_number(&prefix, s.number))
        .collect()
}

/// `prefix` followed by `number` in decimal. Keys like these are made for
/// every step of every run: this sizes the string once and writes the digits
/// directly, which costs a fraction of `format!`.
pub(crate) fn with_number(prefix: &str, number: StepNumber) -> String {
    let mut text = String::with_capacity(prefix.len() + 10);
    text.push_str(prefix);
    let mut divisor = 1;
    while divisor <= number / 10 {
        divisor *= 10;
    }
    while divisor > 0 {
        text.extend(char::from_digit(number / divisor % 10, 10));
        divisor /= 10;
    }
    text
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
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SpecRecord {
    pub(crate) spec: WorkflowSpec,
    pub(crate) params: JsonMap,
}

/// A [`SpecRecord`] to write, borrowing what it holds: a run writes its
/// definition without copying it.
#[derive(Debug, Serialize)]
pub(crate) struct SpecRecordRef<'a> {
    pub(crate) spec: &'a WorkflowSpec,
    pub(crate) params: &'a JsonMap,
}

/// `wf:run:{id}:step:{n}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    pub(crate) state: StepState,
    pub(crate) attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) finished_at: Option<Stamp>,
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

/// A point in time whose RFC 3339 text is formatted at most once.
///
/// The driver stamps every step transition of one turn with the same
/// instant (a fan-out completes thousands of steps in one turn), and
/// formatting a timestamp costs more than encoding the rest of a step
/// record, so the records of a turn share one text, made when the first of
/// them is encoded (never, for runs without checkpoints). Encodes exactly
/// like a [`Timestamp`].
#[derive(Debug, Clone)]
pub(crate) struct Stamp(Arc<(Timestamp, OnceLock<String>)>);

impl Stamp {
    pub(crate) fn now() -> Self {
        Self::from(Timestamp::now())
    }

    pub(crate) fn at(&self) -> Timestamp {
        self.0.0
    }
}

impl From<Timestamp> for Stamp {
    fn from(at: Timestamp) -> Self {
        Self(Arc::new((at, OnceLock::new())))
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (at, text) = &*self.0;
        // `Timestamp` serializes its `Display` text: the same bytes.
        serializer.serialize_str(text.get_or_init(|| at.to_string()))
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Timestamp::deserialize(deserializer).map(Self::from)
    }
}

pub(crate) fn encode<T: Serialize>(run_id: &str, key: &str, value: &T) -> Result<Bytes, Error> {
    // Room for a typical step record, so that it is not grown step by step.
    let mut buffer = Vec::with_capacity(256);
    serde_json::to_writer(&mut buffer, value)
        .map(|()| Bytes::from(buffer))
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
/// index order). Takes the records so that outputs move instead of being
/// copied.
pub(crate) fn assemble(
    run_id: &str,
    graph: &Plan,
    state: RunState,
    error: Option<String>,
    records: Vec<StepRecord>,
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
            started_at: rec.started_at.as_ref().map(Stamp::at),
            finished_at: rec.finished_at.as_ref().map(Stamp::at),
            outputs: rec.outputs,
            error: rec.error,
            question: rec.question,
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
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn numbers_are_written_in_decimal(number in any::<StepNumber>()) {
            prop_assert_eq!(with_number("k:", number), format!("k:{number}"));
        }

        /// Records written before stamps existed read back, and new ones are
        /// byte for byte what `Timestamp` would have written.
        #[test]
        fn stamps_encode_like_timestamps(
            seconds in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
            nanos in 0..1_000_000_000_i32,
        ) {
            let Ok(at) = Timestamp::new(seconds, nanos) else { return Ok(()) };
            let encoded = serde_json::to_string(&Stamp::from(at)).unwrap();
            prop_assert_eq!(&encoded, &serde_json::to_string(&at).unwrap());
            let back: Stamp = serde_json::from_str(&encoded).unwrap();
            prop_assert_eq!(back.at(), at);
        }
    }

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
