//! What a run leaves in the state backend, and the key scheme.
//!
//! | key | holds |
//! |---|---|
//! | `wf:run:{id}` | run record: workflow name, state, error, timestamps, settings and their changes |
//! | `wf:run:{id}:spec` | the workflow definition and the run parameters (written once) |
//! | `wf:run:{id}:step:{n}` | step `n`: state, attempts, timestamps, outputs, error, question, answer (absent = pending, 0 attempts) |
//! | `wf:run:{id}:cancel` | set by `cancel` for a run driven by another engine |
//! | `wf:run:{id}:turn` | `{lease token}:{turn}` of the last batch (shared backends only), which makes a batch with a lost reply recognisable |
//! | lease `wf:lease:{id}` | ownership of the run |
//! | `wf:exec:{key}:{attempt}` | one per execution of an idempotency key (only [`SimulatedExecutor::counting_in`](crate::SimulatedExecutor::counting_in)) |

use std::sync::Arc;

use bytes::Bytes;
use consort_protocol::{StepNumber, WorkflowSpec};
use jiff::Timestamp;
use serde::{Deserialize, de::DeserializeOwned};

use crate::error::WorkflowError;
use crate::executor::JsonMap;
use crate::graph::{Plan, WorkflowGraph};
use crate::settings::{RunSettings, SettingsChange};
use crate::stamp::Stamp;
use crate::status::{RunState, RunStatus, StepState, StepStatus};

/// Longest accepted run id, in bytes.
pub const MAX_RUN_ID_LEN: usize = 128;

/// Checks that `run_id` can be used in state keys: 1 to [`MAX_RUN_ID_LEN`]
/// ASCII letters, digits, `-`, `_` or `.`.
pub fn validate_run_id(run_id: &str) -> Result<(), WorkflowError> {
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
        Some(reason) => Err(WorkflowError::InvalidRunId {
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

/// `wf:run:{id}:step:`: a step's record key is this and its number.
pub(crate) fn step_key_prefix(run_id: &str) -> String {
    format!("wf:run:{run_id}:step:")
}

/// The record key of every step of `graph`, in step index order.
pub(crate) fn step_keys(run_id: &str, graph: &Plan) -> Vec<String> {
    let prefix = step_key_prefix(run_id);
    graph
        .steps()
        .iter()
        .map(|s| with_number(&prefix, s.number))
        .collect()
}

/// `prefix` followed by `number` in decimal. Keys like these are made for
/// every write of a step's record: this sizes the string once and writes the
/// digits directly, which costs a fraction of `format!`.
pub(crate) fn with_number(prefix: &str, number: StepNumber) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(number);
    let mut text = String::with_capacity(prefix.len() + digits.len());
    text.push_str(prefix);
    text.push_str(digits);
    text
}

/// `wf:run:{id}:turn`: the turn counter of a run on a shared backend.
pub(crate) fn turn_key(run_id: &str) -> String {
    format!("wf:run:{run_id}:turn")
}

pub(crate) fn cancel_key(run_id: &str) -> String {
    format!("wf:run:{run_id}:cancel")
}

pub(crate) fn lease_name(run_id: &str) -> String {
    format!("wf:lease:{run_id}")
}

/// `wf:run:{id}`, as read; a driver writes it through [`RunRecordOut`].
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct RunRecord {
    /// For people and tools reading the backend, as is `updated_at`: the
    /// engine reads neither back.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "written for readers of the backend")
    )]
    pub(crate) workflow: String,
    pub(crate) state: RunState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    pub(crate) created_at: Timestamp,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "written for readers of the backend")
    )]
    pub(crate) updated_at: Timestamp,
    /// Absent in records written before settings were stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) settings: Option<RunSettings>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) settings_changes: Vec<SettingsChange>,
}

/// A [`RunRecord`] to write. A driver writes its run's record at the start
/// and at the end (and at each pause), with the same settings each time:
/// those are encoded once, by [`settings_json`].
pub(crate) struct RunRecordOut<'a> {
    pub(crate) workflow: &'a str,
    pub(crate) state: RunState,
    pub(crate) error: Option<&'a str>,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
    /// What [`settings_json`] wrote for the run's settings.
    pub(crate) settings_json: &'a [u8],
}

impl RunRecordOut<'_> {
    /// Writes what serializing a [`RunRecord`] of the same values gives.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(b"{\"workflow\":");
        serde_json::to_writer(&mut *out, self.workflow)?;
        out.extend_from_slice(b",\"state\":\"");
        out.extend_from_slice(self.state.as_str().as_bytes());
        out.push(b'"');
        if let Some(error) = self.error {
            field(out, "error");
            serde_json::to_writer(&mut *out, error)?;
        }
        field(out, "created_at");
        serde_json::to_writer(&mut *out, &self.created_at)?;
        field(out, "updated_at");
        serde_json::to_writer(&mut *out, &self.updated_at)?;
        out.extend_from_slice(self.settings_json);
        out.push(b'}');
        Ok(())
    }
}

/// The settings' part of a run record, as [`RunRecord`] serializes it:
/// `,"settings":{..}`, then `,"settings_changes":[..]` if there are any.
pub(crate) fn settings_json(
    settings: &RunSettings,
    changes: &[SettingsChange],
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    field(&mut out, "settings");
    serde_json::to_writer(&mut out, settings)?;
    if !changes.is_empty() {
        field(&mut out, "settings_changes");
        serde_json::to_writer(&mut out, changes)?;
    }
    Ok(out)
}

/// `wf:run:{id}:spec`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SpecRecord {
    pub(crate) spec: WorkflowSpec,
    pub(crate) params: JsonMap,
}

/// A [`SpecRecord`] to write: the definition as JSON already (encoded once
/// per [`WorkflowGraph`](crate::WorkflowGraph), not once per run) and the
/// run's parameters.
pub(crate) struct SpecRecordOut<'a> {
    pub(crate) spec_json: &'a [u8],
    pub(crate) params: &'a JsonMap,
}

impl SpecRecordOut<'_> {
    /// Writes what serializing a [`SpecRecord`] of the same values gives.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.reserve(self.spec_json.len() + 32);
        out.extend_from_slice(b"{\"spec\":");
        out.extend_from_slice(self.spec_json);
        out.extend_from_slice(b",\"params\":");
        serde_json::to_writer(&mut *out, self.params)?;
        out.push(b'}');
        Ok(())
    }
}

/// The spec record of a new run of `graph` with `params`, encoded: checked
/// against the backend's value limit before anything is written.
pub(crate) fn spec_record(
    run_id: &str,
    graph: &WorkflowGraph,
    params: &JsonMap,
) -> Result<Bytes, WorkflowError> {
    let key = spec_key(run_id);
    let encode_error = |source| WorkflowError::Encode {
        run_id: run_id.to_owned(),
        key: key.clone(),
        source,
    };
    let spec_json = graph.spec_json().map_err(encode_error)?;
    let record = SpecRecordOut { spec_json, params };
    // Its own buffer, which becomes the value: the definition can be large,
    // and is written once.
    let mut out = Vec::new();
    record.write_json(&mut out).map_err(encode_error)?;
    Ok(Bytes::from(out))
}

/// `wf:run:{id}:step:{n}`, as read. A driver keeps each step's outputs
/// apart (in [`RunShared`](crate::context::RunShared), where the inputs of
/// later steps read them) and writes records through [`StepRecordOut`].
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
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

/// A [`StepRecord`] to write, with its outputs from wherever they are kept.
pub(crate) struct StepRecordOut<'a> {
    pub(crate) record: &'a StepRecord,
    pub(crate) outputs: Option<&'a JsonMap>,
}

impl StepRecordOut<'_> {
    /// Writes the JSON that serializing the record with these outputs gives,
    /// byte for byte. Two records are written per step, so the parts that
    /// never need escaping (field names, states, numbers, timestamps) are
    /// written directly; only user data goes through `serde_json`.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let r = self.record;
        out.extend_from_slice(b"{\"state\":\"");
        out.extend_from_slice(r.state.as_str().as_bytes());
        out.extend_from_slice(b"\",\"attempts\":");
        out.extend_from_slice(itoa::Buffer::new().format(r.attempts).as_bytes());
        for (name, stamp) in [
            ("started_at", &r.started_at),
            ("finished_at", &r.finished_at),
        ] {
            if let Some(stamp) = stamp {
                field(out, name);
                out.push(b'"');
                stamp.write_text(out);
                out.push(b'"');
            }
        }
        if let Some(outputs) = self.outputs {
            field(out, "outputs");
            serde_json::to_writer(&mut *out, outputs)?;
        }
        for (name, text) in [("error", &r.error), ("question", &r.question)] {
            if let Some(text) = text {
                field(out, name);
                serde_json::to_writer(&mut *out, text)?;
            }
        }
        if let Some(answer) = &r.answer {
            field(out, "answer");
            serde_json::to_writer(&mut *out, answer)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// `,"name":`, for a name that needs no escaping.
fn field(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Writes a record with `write` in `buffer` (cleared first, and kept by the
/// caller so that its room is reused) and copies it out: one allocation of
/// the exact size per record.
pub(crate) fn encode_with(
    buffer: &mut Vec<u8>,
    run_id: &str,
    key: &str,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<Bytes, WorkflowError> {
    buffer.clear();
    write(buffer)
        .map(|()| Bytes::copy_from_slice(buffer))
        .map_err(|source| WorkflowError::Encode {
            run_id: run_id.to_owned(),
            key: key.to_owned(),
            source,
        })
}

/// Reads a record stored under `key`.
pub(crate) fn decode<T: DeserializeOwned>(
    run_id: &str,
    key: &str,
    bytes: &[u8],
) -> Result<T, WorkflowError> {
    serde_json::from_slice(bytes).map_err(|source| WorkflowError::Corrupt {
        run_id: run_id.to_owned(),
        key: key.to_owned(),
        source,
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
            name: Arc::clone(&info.name),
            expert: Arc::clone(&info.primary_expert),
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
        settings: None,
        settings_changes: Vec::new(),
        owner: None,
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
    }

    const STATES: [StepState; 7] = [
        StepState::Pending,
        StepState::Running,
        StepState::Completed,
        StepState::Failed,
        StepState::WaitingForHuman,
        StepState::Skipped,
        StepState::Cancelled,
    ];

    proptest! {
        /// The hand-written step record is what serde would write.
        #[test]
        fn step_records_are_written_as_serde_writes_them(
            state in 0..STATES.len(),
            attempts in any::<u32>(),
            seconds in proptest::option::of(0..4_000_000_000_i64),
            error in proptest::option::of(".*"),
            question in proptest::option::of("[a-z\"\\\\\n]*"),
            answer in proptest::option::of(any::<i64>()),
            outputs in proptest::option::of(proptest::collection::btree_map(".*", ".*", 0..3)),
        ) {
            let stamp = seconds.map(|s| Stamp::from(Timestamp::from_second(s).unwrap()));
            let outputs: Option<JsonMap> = outputs.map(|m| {
                m.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect()
            });
            let record = StepRecord {
                state: STATES[state],
                attempts,
                started_at: stamp,
                finished_at: stamp,
                outputs: None,
                error,
                question,
                answer: answer.map(serde_json::Value::from),
            };
            let mut written = Vec::new();
            StepRecordOut { record: &record, outputs: outputs.as_ref() }
                .write_json(&mut written)
                .unwrap();
            let whole = StepRecord { outputs, ..record };
            prop_assert_eq!(String::from_utf8(written).unwrap(), serde_json::to_string(&whole).unwrap());
        }
    }

    const RUN_STATES: [RunState; 6] = [
        RunState::Running,
        RunState::WaitingForHuman,
        RunState::Paused,
        RunState::Completed,
        RunState::Failed,
        RunState::Cancelled,
    ];

    proptest! {
        /// The hand-written run record, settings encoded apart, is what serde
        /// would write, and reads back.
        #[test]
        fn run_records_are_written_as_serde_writes_them(
            workflow in ".*",
            state in 0..RUN_STATES.len(),
            error in proptest::option::of(".*"),
            created in 0..4_000_000_000_i64,
            updated in 0..4_000_000_000_i64,
            timeout_ms in proptest::option::of(1..10_000_000_u64),
            changed_by in proptest::option::of("[a-z\"\\\\-]*"),
        ) {
            let at = |s| Timestamp::from_second(s).unwrap();
            let mut settings = RunSettings::default();
            if let Some(ms) = timeout_ms {
                settings = settings.with_step_timeout(std::time::Duration::from_millis(ms));
            }
            let settings_changes: Vec<SettingsChange> = changed_by
                .map(|by| SettingsChange {
                    at: at(updated),
                    by,
                    before: RunSettings::default(),
                    after: settings,
                })
                .into_iter()
                .collect();
            let tail = settings_json(&settings, &settings_changes).unwrap();
            let mut written = Vec::new();
            RunRecordOut {
                workflow: &workflow,
                state: RUN_STATES[state],
                error: error.as_deref(),
                created_at: at(created),
                updated_at: at(updated),
                settings_json: &tail,
            }
            .write_json(&mut written)
            .unwrap();
            let whole = RunRecord {
                workflow,
                state: RUN_STATES[state],
                error,
                created_at: at(created),
                updated_at: at(updated),
                settings: Some(settings),
                settings_changes,
            };
            let written = String::from_utf8(written).unwrap();
            prop_assert_eq!(&written, &serde_json::to_string(&whole).unwrap());
            let back: RunRecord = serde_json::from_str(&written).unwrap();
            prop_assert_eq!(back.settings, whole.settings);
            prop_assert_eq!(back.settings_changes, whole.settings_changes);
        }
    }

    #[test]
    fn records_written_with_outputs_apart_read_back_the_same() {
        let mut outputs = JsonMap::new();
        outputs.insert("plan".to_owned(), serde_json::json!({"budget": 30000}));
        let record = StepRecord {
            state: StepState::Completed,
            attempts: 2,
            started_at: Some(Stamp::now(true)),
            finished_at: Some(Stamp::now(true)),
            outputs: None,
            error: Some("first attempt timed out".to_owned()),
            question: None,
            answer: Some(serde_json::json!("yes")),
        };
        let mut written = Vec::new();
        StepRecordOut {
            record: &record,
            outputs: Some(&outputs),
        }
        .write_json(&mut written)
        .unwrap();
        let written = String::from_utf8(written).unwrap();
        let whole = StepRecord {
            outputs: Some(outputs),
            ..record
        };
        assert_eq!(written, serde_json::to_string(&whole).unwrap());
        let back: StepRecord = serde_json::from_str(&written).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), written);
    }

    #[test]
    fn spec_records_read_back_as_written() {
        let spec =
            consort_protocol::load_workflow(consort_protocol::seeds::MARKETING_CAMPAIGN_WORKFLOW)
                .unwrap();
        let mut params = JsonMap::new();
        params.insert("client".to_owned(), serde_json::json!("acme \"quoted\""));
        let mut written = Vec::new();
        SpecRecordOut {
            spec_json: &serde_json::to_vec(&spec).unwrap(),
            params: &params,
        }
        .write_json(&mut written)
        .unwrap();
        let back: SpecRecord = decode("r", "k", &written).unwrap();
        assert_eq!(back.spec, spec);
        assert_eq!(back.params, params);
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
