//! Checking a workflow definition: structure, dependency cycles and unknown
//! experts, every problem reported with its JSON path.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use consort_protocol::{
    Collaborator, ExpertId, ExpertProfile, ProtocolError, StepNumber, WorkflowSpec,
};
use petgraph::graph::NodeIndex;

use crate::graph::{Layout, step_label};

/// A problem found by [`validate`]; its message names the JSON path, the step
/// and the expert involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A structural problem of the document (see
    /// [`WorkflowSpec::structural_problems`]), including an empty workflow.
    #[error("{0}")]
    Structure(ProtocolError),
    /// The steps on a dependency cycle, in edge order; the first step is
    /// repeated at the end when displayed.
    #[error("workflow_steps: cycle: {}", cycle_text(.steps))]
    Cycle {
        /// `(number, name)` of each step on the cycle.
        steps: Vec<(StepNumber, String)>,
    },
    /// An expert that the given registry does not know.
    #[error("{path}: expert {expert:?}{} is not in the expert registry", owner_text(.step))]
    UnknownExpert {
        /// JSON path of the reference (`workflow_steps[1].primary_expert`).
        path: String,
        /// `(number, name)` of the step naming it; `None` for `participants`.
        step: Option<(StepNumber, String)>,
        /// The unknown expert id.
        expert: ExpertId,
    },
}

impl Problem {
    /// JSON path of the offending value (`workflow_steps` for a cycle).
    pub fn path(&self) -> &str {
        match self {
            Self::Structure(e) => e.path(),
            Self::Cycle { .. } => "workflow_steps",
            Self::UnknownExpert { path, .. } => path,
        }
    }
}

fn cycle_text(steps: &[(StepNumber, String)]) -> String {
    steps
        .iter()
        .chain(steps.first())
        .map(|(n, name)| step_label(*n, name))
        .collect::<Vec<_>>()
        .join(" -> ")
}

fn owner_text(step: &Option<(StepNumber, String)>) -> String {
    match step {
        Some((n, name)) => format!(" in {}", step_label(*n, name)),
        None => String::new(),
    }
}

/// Every problem of `spec` on its own: structural ones and dependency
/// cycles. Empty when the workflow is valid. The experts it names are not
/// checked; see [`validate_for`].
pub fn validate(spec: &WorkflowSpec) -> Vec<Problem> {
    check(spec, None).0
}

/// Every problem of `spec` as [`validate`] finds them, and every expert it
/// names that is not among `experts`. Empty when the workflow can run with
/// these experts.
///
/// ```
/// use consort_protocol::{load_registry, load_workflow, seeds};
/// let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
/// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
/// assert!(consort_workflow::validate_for(&spec, &experts).is_empty());
/// # Ok::<(), consort_protocol::ProtocolError>(())
/// ```
pub fn validate_for(spec: &WorkflowSpec, experts: &[ExpertProfile]) -> Vec<Problem> {
    check(spec, Some(experts)).0
}

/// The problems of `spec` and the layout they were found on.
pub(crate) fn check<'a>(
    spec: &'a WorkflowSpec,
    experts: Option<&[ExpertProfile]>,
) -> (Vec<Problem>, Layout<'a>) {
    let mut problems: Vec<Problem> = spec
        .structural_problems()
        .into_iter()
        .map(Problem::Structure)
        .collect();
    if let Some(experts) = experts {
        unknown_experts(spec, experts, &mut problems);
    }
    let layout = Layout::new(spec);
    problems.extend(
        cycles(&layout)
            .into_iter()
            .map(|steps| Problem::Cycle { steps }),
    );
    (problems, layout)
}

fn unknown_experts(spec: &WorkflowSpec, experts: &[ExpertProfile], out: &mut Vec<Problem>) {
    let known: BTreeSet<&str> = experts.iter().map(|e| e.id.as_str()).collect();
    for (i, id) in spec.participants.iter().enumerate() {
        if !known.contains(id.as_str()) {
            out.push(Problem::UnknownExpert {
                path: format!("participants[{i}]"),
                step: None,
                expert: id.clone(),
            });
        }
    }
    for (i, step) in spec.workflow_steps.iter().enumerate() {
        let at = format!("workflow_steps[{i}]");
        let named = std::iter::once((format!("{at}.primary_expert"), &step.primary_expert))
            .chain(
                step.collaborating_experts
                    .iter()
                    .enumerate()
                    .filter_map(|(j, c)| match c {
                        Collaborator::Expert(id) => {
                            Some((format!("{at}.collaborating_experts[{j}]"), id))
                        }
                        Collaborator::All => None,
                    }),
            )
            .chain(step.collaboration_points.iter().enumerate().map(|(j, p)| {
                (
                    format!("{at}.collaboration_points[{j}].with_expert"),
                    &p.with_expert,
                )
            }));
        for (path, id) in named {
            if !known.contains(id.as_str()) {
                out.push(Problem::UnknownExpert {
                    path,
                    step: Some((step.step, step.name.clone())),
                    expert: id.clone(),
                });
            }
        }
    }
}

/// One cycle per strongly connected component with more than one step,
/// starting at its lowest-numbered step.
fn cycles(layout: &Layout<'_>) -> Vec<Vec<(StepNumber, String)>> {
    let mut cycles = Vec::new();
    if layout.topo.is_some() {
        return cycles;
    }
    for component in petgraph::algo::tarjan_scc(&layout.dag) {
        if component.len() < 2 {
            continue;
        }
        let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
        let Some(&start) = members.first() else {
            continue;
        };
        if let Some(path) = path_back(layout, start, &members) {
            cycles.push(
                path.into_iter()
                    .filter_map(|n| layout.steps.get(n.index()))
                    .map(|s| (s.step, s.name.clone()))
                    .collect(),
            );
        }
    }
    cycles.sort();
    cycles
}

/// A shortest path `start -> ... -> start` inside `members`, without the
/// repeated `start` at the end.
fn path_back(
    layout: &Layout<'_>,
    start: NodeIndex,
    members: &BTreeSet<NodeIndex>,
) -> Option<Vec<NodeIndex>> {
    let mut parent: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = layout.dag.neighbors(node).collect();
        next.sort();
        for succ in next {
            if succ == start {
                let mut path = vec![node];
                let mut at = node;
                while let Some(&p) = parent.get(&at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            if members.contains(&succ) && succ != start && !parent.contains_key(&succ) {
                parent.insert(succ, node);
                queue.push_back(succ);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use consort_protocol::{load_registry, seeds};

    use super::*;
    use crate::WorkflowGraph;
    use crate::error::WorkflowError;

    fn spec(json: &str) -> WorkflowSpec {
        consort_protocol::from_json_str(json).unwrap()
    }

    #[test]
    fn cycle_names_its_steps() {
        let problems = validate(&spec(
            r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 1, "name": "Start", "primary_expert": "x", "next_step": 2},
                {"step": 2, "name": "Strategy Development", "primary_expert": "x", "next_step": 3},
                {"step": 3, "name": "Creative", "primary_expert": "x", "next_step": 2}]}"#,
        ));
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "workflow_steps: cycle: step 2 (Strategy Development) -> step 3 (Creative) -> step 2 (Strategy Development)"
        );
    }

    #[test]
    fn unknown_experts_name_step_and_expert() {
        let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
        let problems = validate_for(
            &spec(
                r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 1, "name": "Plan", "primary_expert": "wizard",
                 "collaboration_points": [{"with_expert": "oracle"}]}]}"#,
            ),
            &experts,
        );
        let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            vec![
                "workflow_steps[0].primary_expert: expert \"wizard\" in step 1 (Plan) is not in the expert registry",
                "workflow_steps[0].collaboration_points[0].with_expert: expert \"oracle\" in step 1 (Plan) is not in the expert registry",
            ]
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = validate(&spec(
            r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 1, "name": "a", "primary_expert": "x", "next_step": 9},
                {"step": 1, "name": "b", "primary_expert": "x"}]}"#,
        ));
        let paths: Vec<&str> = problems.iter().map(Problem::path).collect();
        assert_eq!(
            paths,
            vec!["workflow_steps[1].step", "workflow_steps[0].next_step"]
        );
        let empty = validate(&spec(r#"{"workflow_name": "w", "workflow_steps": []}"#));
        assert_eq!(
            empty[0].to_string(),
            "workflow_steps: the workflow has no steps"
        );
        assert!(matches!(
            WorkflowGraph::build(&spec(r#"{"workflow_name": "w", "workflow_steps": []}"#)),
            Err(WorkflowError::Invalid { .. })
        ));
    }
}
