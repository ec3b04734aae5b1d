//! Workflow definitions as the spec writes them: numbered steps, chained by
//! `next_step`, or only numbered, plus an optional `depends_on` for general
//! DAGs.
//!
//! The checks here need no graph (duplicate numbers, references to steps that
//! do not exist); cycles and experts unknown to a registry are found by
//! `consort-workflow` when it builds the graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ExpertId, ProtocolError, from_json_str, validate_expert_id};

/// A step's number, unique within its workflow.
pub type StepNumber = u32;

/// A multi-expert workflow (the spec's workflow definitions).
///
/// A hand-written input, so strict: an unknown field anywhere in it is an
/// error naming its path and the field it most likely means
/// (`workflow_steps[1].nextstep: unknown field; did you mean "next_step"?`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// Unique name (`comprehensive_marketing_campaign`).
    pub workflow_name: String,
    /// What it achieves.
    #[serde(default)]
    pub description: String,
    /// The experts taking part; `"all"` in a step means these.
    #[serde(default)]
    pub participants: Vec<ExpertId>,
    /// The steps, in any order.
    pub workflow_steps: Vec<WorkflowStep>,
    /// Targets such as `"workflow_completion_time": "< 4 hours"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub success_metrics: BTreeMap<String, String>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStep {
    /// The step's number.
    pub step: StepNumber,
    /// Its name (`Strategy Development`).
    pub name: String,
    /// The expert that does the step.
    pub primary_expert: ExpertId,
    /// Experts that help; `"all"` means every participant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collaborating_experts: Vec<Collaborator>,
    /// What the step involves, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Checks another expert makes before the step counts as done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collaboration_points: Vec<CollaborationPoint>,
    /// Names of the outputs the step produces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    /// The step that follows this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<StepNumber>,
    /// Steps that must complete before this one (consort's addition for
    /// general DAGs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<StepNumber>,
    /// Longest one attempt may take, in milliseconds: from 1 to
    /// [`MAX_TIMEOUT_MS`](Self::MAX_TIMEOUT_MS) (24 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// How failed attempts are retried; the engine's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// What a failed collaboration-point validation leads to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_validation_failure: Option<ValidationFailurePolicy>,
}

impl WorkflowStep {
    /// The longest `timeout_ms` accepted: 24 hours. Work that may take longer
    /// is not one attempt of a step; model the wait as a human answer or
    /// split the step.
    pub const MAX_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

    /// The collaborating experts with `"all"` expanded to `participants`,
    /// without the primary expert and without repeats, in order of mention.
    pub fn collaborators(&self, participants: &[ExpertId]) -> Vec<ExpertId> {
        // Most steps have none; skip building the set for them.
        if self.collaborating_experts.is_empty() {
            return Vec::new();
        }
        let mut seen = BTreeSet::new();
        seen.insert(self.primary_expert.as_str());
        let mut out = Vec::new();
        for collaborator in &self.collaborating_experts {
            let names: &[ExpertId] = match collaborator {
                Collaborator::All => participants,
                Collaborator::Expert(id) => std::slice::from_ref(id),
            };
            for name in names {
                if seen.insert(name.as_str()) {
                    out.push(name.clone());
                }
            }
        }
        out
    }
}

/// An entry of `collaborating_experts`: one expert, or every participant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Collaborator {
    /// Every participant of the workflow (`"all"`; `"all_experts"` is read too).
    All,
    /// One expert by id.
    Expert(ExpertId),
}

impl Serialize for Collaborator {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::All => serializer.serialize_str("all"),
            Self::Expert(id) => serializer.serialize_str(id),
        }
    }
}

impl<'de> Deserialize<'de> for Collaborator {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(match text.as_str() {
            "all" | "all_experts" => Self::All,
            _ => Self::Expert(text.into()),
        })
    }
}

/// A check by another expert that a step must pass (`collaboration_points`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollaborationPoint {
    /// The expert who validates.
    pub with_expert: ExpertId,
    /// Outputs or data handed to that expert.
    #[serde(default)]
    pub data_shared: Vec<String>,
    /// What the expert validates (`budget_feasibility`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_needed: Option<String>,
}

/// How a step's failed attempts are retried.
///
/// Bounded, so that a slip of the keyboard cannot make a run retry for
/// ever: `max_attempts` within `1..=`[`MAX_ATTEMPTS`](Self::MAX_ATTEMPTS)
/// (100), both backoffs at most [`MAX_BACKOFF_MS`](Self::MAX_BACKOFF_MS)
/// (one hour), and the initial one at most the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the second attempt, in milliseconds; doubles each time.
    /// Default 100.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Upper bound of the wait, in milliseconds. Default 10,000.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
}

impl RetrySpec {
    /// The most attempts a step may have: 100. With the longest backoff
    /// that is already four days of retrying.
    pub const MAX_ATTEMPTS: u32 = 100;

    /// The longest backoff accepted, in milliseconds: one hour.
    pub const MAX_BACKOFF_MS: u64 = 60 * 60 * 1000;
}

fn default_initial_backoff_ms() -> u64 {
    100
}

fn default_max_backoff_ms() -> u64 {
    10_000
}

/// What happens when a collaboration point's validation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationFailurePolicy {
    /// Run the step again (counts as an attempt).
    #[default]
    Retry,
    /// Pause the run and ask a human.
    Escalate,
    /// Fail the step.
    Fail,
}

/// Parses a workflow definition and runs its structural checks.
pub fn load_workflow(text: &str) -> Result<WorkflowSpec, ProtocolError> {
    let spec: WorkflowSpec = from_json_str(text)?;
    spec.check_structure()?;
    Ok(spec)
}

impl WorkflowSpec {
    /// The step with number `step`.
    pub fn step(&self, step: StepNumber) -> Option<&WorkflowStep> {
        self.workflow_steps.iter().find(|s| s.step == step)
    }

    /// The first structural problem, if any (see [`Self::structural_problems`]).
    pub fn check_structure(&self) -> Result<(), ProtocolError> {
        match self.structural_problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    /// Every problem that can be seen without building the graph: no steps, a
    /// blank name, duplicate step numbers, `next_step` or `depends_on` naming a
    /// step that does not exist or the step itself, malformed expert ids,
    /// experts missing from a non-empty `participants` list, a timeout or
    /// retry setting out of its bounds ([`WorkflowStep::MAX_TIMEOUT_MS`],
    /// [`RetrySpec`]). Each error's path points into the document.
    pub fn structural_problems(&self) -> Vec<ProtocolError> {
        let mut problems = Vec::new();
        if self.workflow_name.trim().is_empty() {
            problems.push(ProtocolError::invalid(
                "workflow_name",
                "the workflow needs a name",
            ));
        }
        if self.workflow_steps.is_empty() {
            problems.push(ProtocolError::invalid(
                "workflow_steps",
                "the workflow has no steps",
            ));
        }
        for (index, id) in self.participants.iter().enumerate() {
            if let Err(e) = validate_expert_id(id) {
                problems.push(e.within(&format!("participants[{index}]")));
            }
        }
        let mut first_index: HashMap<StepNumber, usize> =
            HashMap::with_capacity(self.workflow_steps.len());
        for (index, step) in self.workflow_steps.iter().enumerate() {
            if let Some(first) = first_index.get(&step.step) {
                problems.push(ProtocolError::invalid(
                    format!("workflow_steps[{index}].step"),
                    format!(
                        "duplicate step number {} (also at workflow_steps[{first}])",
                        step.step
                    ),
                ));
            } else {
                first_index.insert(step.step, index);
            }
        }
        for (index, step) in self.workflow_steps.iter().enumerate() {
            self.step_problems(step, index, &first_index, &mut problems);
        }
        problems
    }

    /// The problems of the step at `workflow_steps[index]`.
    ///
    /// Paths are formatted only for problems found: a valid workflow of
    /// thousands of steps is checked without building a string per field.
    fn step_problems(
        &self,
        step: &WorkflowStep,
        index: usize,
        steps: &HashMap<StepNumber, usize>,
        problems: &mut Vec<ProtocolError>,
    ) {
        let path = |field: std::fmt::Arguments<'_>| format!("workflow_steps[{index}].{field}");
        if step.name.trim().is_empty() {
            problems.push(ProtocolError::invalid(
                path(format_args!("name")),
                "the step needs a name",
            ));
        }
        let references = step.next_step.iter().map(|&n| (None, n)).chain(
            step.depends_on
                .iter()
                .copied()
                .enumerate()
                .map(|(i, n)| (Some(i), n)),
        );
        for (position, target) in references {
            let reference_path = || match position {
                None => path(format_args!("next_step")),
                Some(i) => path(format_args!("depends_on[{i}]")),
            };
            if target == step.step {
                problems.push(ProtocolError::invalid(
                    reference_path(),
                    format!("step {target} refers to itself"),
                ));
            } else if !steps.contains_key(&target) {
                problems.push(ProtocolError::invalid(
                    reference_path(),
                    format!("step {target} does not exist"),
                ));
            }
        }
        let experts = std::iter::once((ExpertField::Primary, &step.primary_expert))
            .chain(
                step.collaborating_experts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| match c {
                        Collaborator::Expert(id) => Some((ExpertField::Collaborating(i), id)),
                        Collaborator::All => None,
                    }),
            )
            .chain(
                step.collaboration_points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (ExpertField::Validating(i), &p.with_expert)),
            );
        for (field, id) in experts {
            let expert_path = || match field {
                ExpertField::Primary => path(format_args!("primary_expert")),
                ExpertField::Collaborating(i) => path(format_args!("collaborating_experts[{i}]")),
                ExpertField::Validating(i) => {
                    path(format_args!("collaboration_points[{i}].with_expert"))
                }
            };
            if let Err(e) = validate_expert_id(id) {
                problems.push(e.within(&expert_path()));
            } else if !self.participants.is_empty() && !self.participants.contains(id) {
                problems.push(ProtocolError::invalid(
                    expert_path(),
                    format!("expert {id:?} is not among the workflow's participants"),
                ));
            }
        }
        match step.timeout_ms {
            Some(0) => problems.push(ProtocolError::invalid(
                path(format_args!("timeout_ms")),
                "a timeout of 0 ms would fail every attempt; omit it for none",
            )),
            Some(ms) if ms > WorkflowStep::MAX_TIMEOUT_MS => problems.push(ProtocolError::invalid(
                path(format_args!("timeout_ms")),
                format!(
                    "{ms} ms is longer than the limit of {} ms (24 hours); omit it for none",
                    WorkflowStep::MAX_TIMEOUT_MS
                ),
            )),
            _ => {}
        }
        if let Some(retry) = step.retry {
            retry_problems(
                &retry,
                |field| path(format_args!("retry.{field}")),
                problems,
            );
        }
    }
}

/// The bounds of [`RetrySpec`]; `path` makes the path of one of its fields.
fn retry_problems(
    retry: &RetrySpec,
    path: impl Fn(&str) -> String,
    problems: &mut Vec<ProtocolError>,
) {
    if retry.max_attempts == 0 {
        problems.push(ProtocolError::invalid(
            path("max_attempts"),
            "at least one attempt is needed",
        ));
    } else if retry.max_attempts > RetrySpec::MAX_ATTEMPTS {
        problems.push(ProtocolError::invalid(
            path("max_attempts"),
            format!(
                "{} attempts is more than the limit of {}",
                retry.max_attempts,
                RetrySpec::MAX_ATTEMPTS
            ),
        ));
    }
    for (field, ms) in [
        ("initial_backoff_ms", retry.initial_backoff_ms),
        ("max_backoff_ms", retry.max_backoff_ms),
    ] {
        if ms > RetrySpec::MAX_BACKOFF_MS {
            problems.push(ProtocolError::invalid(
                path(field),
                format!(
                    "{ms} ms is longer than the limit of {} ms (one hour)",
                    RetrySpec::MAX_BACKOFF_MS
                ),
            ));
        }
    }
    if retry.initial_backoff_ms > retry.max_backoff_ms {
        problems.push(ProtocolError::invalid(
            path("initial_backoff_ms"),
            "initial backoff exceeds max_backoff_ms",
        ));
    }
}

/// Which expert reference of a step is checked; its JSON path is built only
/// when the reference has a problem.
#[derive(Clone, Copy)]
enum ExpertField {
    Primary,
    Collaborating(usize),
    Validating(usize),
}
