//! What an executor is given for one call: [`StepContext`] and its
//! [`Inputs`].
//!
//! A context is a few reference counts: the run's definition, parameters and
//! the outputs of completed steps live once per run in [`RunShared`], and
//! [`Inputs`] reads them in place. A step's inputs are never copied unless an
//! executor asks for them as one JSON object ([`Inputs::to_json`]).

use std::sync::{Arc, OnceLock};

use consort_protocol::{ExpertId, StepNumber, WorkflowProgress};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::events::ProgressSink;
use crate::executor::{JsonMap, StepKind};
use crate::graph::{Plan, StepInfo};
use crate::records::{percent, with_number};

/// What every call of one run reads: made once per run.
#[derive(Debug)]
pub(crate) struct RunShared {
    pub(crate) run_id: Arc<str>,
    pub(crate) plan: Arc<Plan>,
    pub(crate) params: JsonMap,
    /// The outputs of each step, by step index, set when it completes. A
    /// completed step never runs again, so each is set at most once.
    pub(crate) outputs: Box<[OnceLock<JsonMap>]>,
    /// Where [`StepContext::report_progress`] goes; `None` when the engine
    /// publishes no events.
    pub(crate) progress: Option<ProgressSink>,
}

/// A human's answer to a step that asked for one, with the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HumanInput {
    pub(crate) answer: Value,
    pub(crate) question: Option<String>,
}

/// Everything an executor needs to run one call of a step.
#[derive(Debug, Clone)]
pub struct StepContext {
    pub(crate) run: Arc<RunShared>,
    pub(crate) step: Arc<StepInfo>,
    pub(crate) index: usize,
    pub(crate) attempt: u32,
    pub(crate) human: Option<Arc<HumanInput>>,
    pub(crate) kind: StepKind,
}

impl StepContext {
    /// The run.
    pub fn run_id(&self) -> &str {
        &self.run.run_id
    }

    /// The step's definition.
    pub fn step(&self) -> &StepInfo {
        &self.step
    }

    /// Attempt number, 1 for the first. Grows across retries, resumes after a
    /// crash and answers from a human.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether this call executes the step or validates its outputs.
    pub fn kind(&self) -> &StepKind {
        &self.kind
    }

    /// The expert to call: the primary expert for an execution, the
    /// collaboration point's expert for a validation.
    pub fn expert(&self) -> &str {
        match &self.kind {
            StepKind::Execute => &self.step.primary_expert,
            StepKind::Validate { point, .. } => &point.with_expert,
        }
    }

    /// The step's helping experts (`"all"` expanded).
    pub fn collaborators(&self) -> &[ExpertId] {
        &self.step.collaborators
    }

    /// Stable across attempts: `{run_id}:{step}` for the execution,
    /// `{run_id}:{step}:check:{i}` for the validation of the `i`-th
    /// collaboration point. Deduplicate side effects on
    /// `(idempotency_key, attempt)` or on the key alone.
    ///
    /// Made on each call (most executors never ask for it).
    pub fn idempotency_key(&self) -> String {
        let (run, step) = (&self.run.run_id, self.step.number);
        match &self.kind {
            // Once per call: one allocation, without `format!`'s machinery.
            StepKind::Execute => [&**run, ":", itoa::Buffer::new().format(step)].concat(),
            StepKind::Validate { position, .. } => format!("{run}:{step}:check:{position}"),
        }
    }

    /// Reports how far this call has come, as a `workflow:step_progress`
    /// event on the backend's bus (followed by [`Engine::watch`] and `consort
    /// workflow run`): `progress` of `total` units when the total is known,
    /// with an optional message. A no-op when the engine publishes no events.
    /// The MCP executor forwards an expert's progress notifications here.
    ///
    /// [`Engine::watch`]: crate::Engine::watch
    pub fn report_progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(sink) = &self.run.progress else {
            return;
        };
        sink.emit(|workflow| {
            let mut detail = match total {
                Some(total) => format!("{progress}/{total}"),
                None => progress.to_string(),
            };
            if let Some(message) = message {
                detail.push_str(": ");
                detail.push_str(message);
            }
            let completed = self
                .run
                .outputs
                .iter()
                .filter(|o| o.get().is_some())
                .count();
            WorkflowProgress {
                run_id: self.run.run_id.to_string(),
                workflow: workflow.to_owned(),
                step: Some(self.step.number.to_string()),
                attempt: Some(self.attempt),
                percent_complete: percent(completed, self.run.outputs.len()),
                detail: Some(detail),
            }
        });
    }

    /// The step's inputs: the run's parameters, the outputs of its
    /// dependencies and, after a human answered it, the answer.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            run: &self.run,
            deps: self.run.plan.deps(self.index),
            human: self.human.as_deref(),
        }
    }
}

/// A step's inputs, read in place from the run.
///
/// As one JSON object ([`to_json`](Self::to_json), or serialized) they are
/// `{"params": {..}, "step_{n}": {..} for each dependency n, "human_answer":
/// .., "human_question": ".."}`, the last two only after a human answered
/// the step.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    run: &'a RunShared,
    /// Step indices of the dependencies, sorted.
    deps: &'a [usize],
    human: Option<&'a HumanInput>,
}

impl<'a> Inputs<'a> {
    /// The run's parameters.
    pub fn params(&self) -> &'a JsonMap {
        &self.run.params
    }

    /// The outputs of dependency `number`; `None` if step `number` is not a
    /// dependency of this step.
    pub fn step(&self, number: StepNumber) -> Option<&'a JsonMap> {
        let index = self.run.plan.index_of(number)?;
        self.deps.binary_search(&index).ok()?;
        self.outputs_of(index)
    }

    /// `(number, outputs)` of every dependency, in step number order.
    pub fn steps(&self) -> impl Iterator<Item = (StepNumber, &'a JsonMap)> + 'a {
        let run = self.run;
        self.deps.iter().filter_map(move |&index| {
            let number = run.plan.steps().get(index)?.number;
            Some((number, run.outputs.get(index)?.get()?))
        })
    }

    /// A human's answer to this step, once given.
    pub fn human_answer(&self) -> Option<&'a Value> {
        self.human.map(|h| &h.answer)
    }

    /// The question the human answered.
    pub fn human_question(&self) -> Option<&'a str> {
        self.human.and_then(|h| h.question.as_deref())
    }

    /// The inputs as one JSON object (copied).
    pub fn to_json(&self) -> JsonMap {
        let mut map = JsonMap::new();
        map.insert("params".to_owned(), Value::Object(self.params().clone()));
        for (number, outputs) in self.steps() {
            map.insert(with_number("step_", number), Value::Object(outputs.clone()));
        }
        if let Some(answer) = self.human_answer() {
            map.insert("human_answer".to_owned(), answer.clone());
        }
        if let Some(question) = self.human_question() {
            map.insert(
                "human_question".to_owned(),
                Value::String(question.to_owned()),
            );
        }
        map
    }

    fn outputs_of(&self, index: usize) -> Option<&'a JsonMap> {
        self.run.outputs.get(index)?.get()
    }
}

impl Serialize for Inputs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("params", self.params())?;
        for (number, outputs) in self.steps() {
            map.serialize_entry(&with_number("step_", number), outputs)?;
        }
        if let Some(answer) = self.human_answer() {
            map.serialize_entry("human_answer", answer)?;
        }
        if let Some(question) = self.human_question() {
            map.serialize_entry("human_question", question)?;
        }
        map.end()
    }
}
