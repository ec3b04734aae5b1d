//! Workflow specs turned into a validated DAG.
//!
//! # Edge rule
//!
//! - If **no** step of the workflow has `next_step` or `depends_on`, the steps
//!   are chained in step-number order (1 -> 2 -> 3 ...), which is how the
//!   spec's "only numbered" workflows read.
//! - Otherwise only declared edges count: `"next_step": b` on step `a` and
//!   `"depends_on": [a]` on step `b` both mean "a before b". Steps without an
//!   incoming edge are roots and start at once.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use consort_protocol::{
    CollaborationPoint, Collaborator, ExpertId, ExpertProfile, ProtocolError, RetrySpec,
    StepNumber, ValidationFailurePolicy, WorkflowSpec, WorkflowStep,
};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::error::WorkflowError;

/// One step as the engine and executors see it: the definition with
/// `"all"` expanded to the workflow's participants.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StepInfo {
    /// The step's number.
    pub number: StepNumber,
    /// Its name (shared by every run's status).
    pub name: Arc<str>,
    /// The expert that executes it (shared likewise).
    pub primary_expert: Arc<str>,
    /// What the step involves, in words.
    pub actions: Vec<String>,
    /// Names of the outputs it must produce.
    pub outputs: Vec<String>,
    /// Helping experts, `"all"` expanded, without the primary expert.
    pub collaborators: Vec<ExpertId>,
    /// Validations by other experts that must pass before the step completes.
    pub collaboration_points: Vec<CollaborationPoint>,
    /// Longest one attempt may take (the engine's default when `None`).
    pub timeout: Option<Duration>,
    /// Retry settings (the engine's default when `None`).
    pub retry: Option<RetrySpec>,
    /// What a failed validation leads to.
    pub on_validation_failure: ValidationFailurePolicy,
}

impl StepInfo {
    fn new(step: &WorkflowStep, participants: &[ExpertId]) -> Self {
        Self {
            number: step.step,
            name: Arc::from(step.name.as_str()),
            primary_expert: Arc::from(step.primary_expert.as_str()),
            actions: step.actions.clone(),
            outputs: step.outputs.clone(),
            collaborators: step.collaborators(participants),
            collaboration_points: step.collaboration_points.clone(),
            timeout: step.timeout_ms.map(Duration::from_millis),
            retry: step.retry,
            on_validation_failure: step.on_validation_failure.unwrap_or_default(),
        }
    }

    /// `step 2 (Strategy Development)`, the way errors name a step.
    pub fn label(&self) -> String {
        step_label(self.number, &self.name)
    }
}

fn step_label(number: StepNumber, name: &str) -> String {
    format!("step {number} ({name})")
}

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

/// A validated workflow: its steps sorted by number and the dependency DAG.
///
/// Steps are addressed by their position in [`steps`](Self::steps) (the
/// *index*), which is also the node index of the underlying petgraph graph.
#[derive(Debug, Clone)]
pub struct WorkflowGraph {
    spec: WorkflowSpec,
    /// Shared with every run of this graph: a run neither rebuilds nor copies it.
    plan: Arc<Plan>,
    /// `spec` as JSON, made for the first durable run and reused by the
    /// others.
    spec_json: OnceLock<Vec<u8>>,
}

/// Everything of a [`WorkflowGraph`] but the definition itself: what the
/// engine drives a run with. A run does not copy the definition (for a large
/// workflow, copying and freeing it would cost as much as running it).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    name: String,
    dag: DiGraph<StepNumber, ()>,
    steps: Vec<Arc<StepInfo>>,
    deps: Adjacency,
    dependents: Adjacency,
    topo: Vec<usize>,
}

/// Neighbour lists of all steps in two flat vectors (one allocation each
/// instead of one per step).
#[derive(Debug, Clone)]
struct Adjacency {
    /// `targets[offsets[i]..offsets[i + 1]]` are the neighbours of step `i`.
    offsets: Vec<usize>,
    targets: Vec<usize>,
}

impl Adjacency {
    /// From `(step, neighbour)` pairs with indices below `n`.
    fn new(n: usize, pairs: impl Iterator<Item = (usize, usize)>) -> Self {
        let mut pairs: Vec<(usize, usize)> = pairs.collect();
        pairs.sort_unstable();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut at = 0;
        for node in 0..n {
            offsets.push(at);
            while pairs.get(at).is_some_and(|&(from, _)| from == node) {
                at += 1;
            }
        }
        offsets.push(at);
        Self {
            offsets,
            targets: pairs.into_iter().map(|(_, to)| to).collect(),
        }
    }

    fn of(&self, node: usize) -> &[usize] {
        match (self.offsets.get(node), self.offsets.get(node + 1)) {
            (Some(&start), Some(&end)) => self.targets.get(start..end).unwrap_or_default(),
            _ => &[],
        }
    }
}

/// Every problem of `spec`: structural ones, dependency cycles and, when a
/// registry is given, experts it does not know. Empty when the workflow is
/// valid.
///
/// ```
/// use consort_protocol::{load_registry, load_workflow, seeds};
/// let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
/// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
/// assert!(consort_workflow::validate(&spec, Some(&experts)).is_empty());
/// # Ok::<(), consort_protocol::ProtocolError>(())
/// ```
pub fn validate(spec: &WorkflowSpec, experts: Option<&[ExpertProfile]>) -> Vec<Problem> {
    check(spec, experts).0
}

/// The problems of `spec` and the layout they were found on.
fn check<'a>(
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
        layout
            .cycles()
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

/// The steps sorted by number (first occurrence wins on duplicates, which
/// validation reports) and the edges the edge rule gives.
struct Layout<'a> {
    steps: Vec<&'a WorkflowStep>,
    /// `(from, to)` step indices, sorted, without repeats.
    edges: Vec<(usize, usize)>,
    dag: DiGraph<StepNumber, ()>,
    /// A topological order, or `None` when there is a cycle.
    topo: Option<Vec<usize>>,
}

impl<'a> Layout<'a> {
    fn new(spec: &'a WorkflowSpec) -> Self {
        let mut steps: Vec<&WorkflowStep> = spec.workflow_steps.iter().collect();
        // Stable: among duplicates the first in the document stays.
        steps.sort_by_key(|s| s.step);
        steps.dedup_by_key(|s| s.step);
        let index = |n: &StepNumber| steps.binary_search_by_key(n, |s| s.step).ok();
        let declared = spec
            .workflow_steps
            .iter()
            .any(|s| s.next_step.is_some() || !s.depends_on.is_empty());
        let mut edges: Vec<(usize, usize)> = Vec::new();
        if declared {
            for (i, step) in steps.iter().enumerate() {
                let successors = step.next_step.iter().filter_map(index).map(|j| (i, j));
                let predecessors = step.depends_on.iter().filter_map(index).map(|j| (j, i));
                // Self references are reported structurally; an edge would only add a
                // one-step "cycle" saying the same thing.
                edges.extend(
                    successors
                        .chain(predecessors)
                        .filter(|(from, to)| from != to),
                );
            }
            // `next_step` and `depends_on` may state the same edge twice.
            edges.sort_unstable();
            edges.dedup();
        } else {
            edges.extend((1..steps.len()).map(|i| (i - 1, i)));
        }
        let mut dag = DiGraph::with_capacity(steps.len(), edges.len());
        for step in &steps {
            dag.add_node(step.step);
        }
        for &(from, to) in &edges {
            dag.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
        }
        let topo = petgraph::algo::toposort(&dag, None)
            .ok()
            .map(|order| order.into_iter().map(NodeIndex::index).collect());
        Self {
            steps,
            edges,
            dag,
            topo,
        }
    }

    /// One cycle per strongly connected component with more than one step,
    /// starting at its lowest-numbered step.
    fn cycles(&self) -> Vec<Vec<(StepNumber, String)>> {
        let mut cycles = Vec::new();
        if self.topo.is_some() {
            return cycles;
        }
        for component in petgraph::algo::tarjan_scc(&self.dag) {
            if component.len() < 2 {
                continue;
            }
            let members: BTreeSet<NodeIndex> = component.iter().copied().collect();
            let Some(&start) = members.first() else {
                continue;
            };
            if let Some(path) = self.path_back(start, &members) {
                cycles.push(
                    path.into_iter()
                        .filter_map(|n| self.steps.get(n.index()))
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
    fn path_back(&self, start: NodeIndex, members: &BTreeSet<NodeIndex>) -> Option<Vec<NodeIndex>> {
        let mut parent: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self.dag.neighbors(node).collect();
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
}

impl WorkflowGraph {
    /// Validates `spec` (see [`validate`]) and builds its DAG.
    ///
    /// ```
    /// use consort_protocol::{load_workflow, seeds};
    /// use consort_workflow::WorkflowGraph;
    /// let spec = load_workflow(seeds::BUSINESS_EXPANSION_WORKFLOW)?;
    /// let graph = WorkflowGraph::build(&spec, None)?;
    /// // No next_step anywhere: chained by number.
    /// assert_eq!(graph.dependencies_of(5), vec![4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(
        spec: &WorkflowSpec,
        experts: Option<&[ExpertProfile]>,
    ) -> Result<Self, WorkflowError> {
        Ok(Self {
            plan: Arc::new(Plan::build(spec, experts)?),
            spec: spec.clone(),
            spec_json: OnceLock::new(),
        })
    }

    /// The workflow this graph was built from.
    pub fn spec(&self) -> &WorkflowSpec {
        &self.spec
    }

    pub(crate) fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// The definition as JSON, encoded on first use.
    pub(crate) fn spec_json(&self) -> serde_json::Result<&[u8]> {
        if let Some(json) = self.spec_json.get() {
            return Ok(json);
        }
        let json = serde_json::to_vec(&self.spec)?;
        Ok(self.spec_json.get_or_init(|| json))
    }

    /// The workflow's name.
    pub fn name(&self) -> &str {
        self.plan.name()
    }

    /// The steps, sorted by number.
    pub fn steps(&self) -> &[Arc<StepInfo>] {
        self.plan.steps()
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.plan.len()
    }

    /// True for a workflow without steps (never the case for a built graph).
    pub fn is_empty(&self) -> bool {
        self.plan.steps.is_empty()
    }

    /// The underlying petgraph graph; node weights are step numbers.
    pub fn dag(&self) -> &DiGraph<StepNumber, ()> {
        &self.plan.dag
    }

    /// Step indices in a topological order.
    pub fn topological_order(&self) -> &[usize] {
        &self.plan.topo
    }

    /// The index of step `number`.
    pub fn index_of(&self, number: StepNumber) -> Option<usize> {
        self.plan.index_of(number)
    }

    /// Numbers of the steps that must complete before step `number`.
    pub fn dependencies_of(&self, number: StepNumber) -> Vec<StepNumber> {
        self.numbers(self.index_of(number).map(|i| self.plan.deps(i)))
    }

    /// Numbers of the steps that wait for step `number`.
    pub fn dependents_of(&self, number: StepNumber) -> Vec<StepNumber> {
        self.numbers(self.index_of(number).map(|i| self.plan.dependents(i)))
    }

    fn numbers(&self, indices: Option<&[usize]>) -> Vec<StepNumber> {
        indices
            .into_iter()
            .flatten()
            .filter_map(|&i| self.steps().get(i).map(|s| s.number))
            .collect()
    }

    /// Every edge as `(from, to)` step numbers, sorted.
    pub fn edges(&self) -> Vec<(StepNumber, StepNumber)> {
        let dag = &self.plan.dag;
        let mut edges: Vec<(StepNumber, StepNumber)> = dag
            .edge_indices()
            .filter_map(|e| dag.edge_endpoints(e))
            .filter_map(|(a, b)| Some((*dag.node_weight(a)?, *dag.node_weight(b)?)))
            .collect();
        edges.sort_unstable();
        edges
    }
}

impl Plan {
    /// Validates `spec` (see [`validate`]) and lays out its steps and edges.
    pub(crate) fn build(
        spec: &WorkflowSpec,
        experts: Option<&[ExpertProfile]>,
    ) -> Result<Self, WorkflowError> {
        let (problems, layout) = check(spec, experts);
        if !problems.is_empty() {
            return Err(WorkflowError::Invalid {
                workflow: spec.workflow_name.clone(),
                problems,
            });
        }
        let Layout {
            steps: defs,
            edges,
            dag,
            topo,
        } = layout;
        // `check` found no cycle, so the order exists.
        let topo = topo.unwrap_or_default();
        let deps = Adjacency::new(defs.len(), edges.iter().map(|&(from, to)| (to, from)));
        let dependents = Adjacency::new(defs.len(), edges.iter().copied());
        let steps = defs
            .iter()
            .map(|s| Arc::new(StepInfo::new(s, &spec.participants)))
            .collect();
        Ok(Self {
            name: spec.workflow_name.clone(),
            dag,
            steps,
            deps,
            dependents,
            topo,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn steps(&self) -> &[Arc<StepInfo>] {
        &self.steps
    }

    pub(crate) fn len(&self) -> usize {
        self.steps.len()
    }

    pub(crate) fn index_of(&self, number: StepNumber) -> Option<usize> {
        self.steps.binary_search_by_key(&number, |s| s.number).ok()
    }

    pub(crate) fn deps(&self, index: usize) -> &[usize] {
        self.deps.of(index)
    }

    pub(crate) fn dependents(&self, index: usize) -> &[usize] {
        self.dependents.of(index)
    }
}

#[cfg(test)]
mod tests {
    use consort_protocol::{load_registry, load_workflow, seeds};

    use super::*;

    fn spec(json: &str) -> WorkflowSpec {
        consort_protocol::from_json_str(json).unwrap()
    }

    #[test]
    fn marketing_follows_next_step() {
        let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap();
        let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
        let graph = WorkflowGraph::build(&spec, Some(&experts)).unwrap();
        assert_eq!(graph.edges(), vec![(1, 2), (2, 3), (3, 4), (4, 5)]);
        let step5 = &graph.steps()[4];
        // "all" expands to the participants minus the primary expert.
        assert_eq!(
            step5.collaborators,
            vec![
                "marketing_sales",
                "finance_accountant",
                "art_design",
                "project_management"
            ]
        );
    }

    #[test]
    fn numbered_only_steps_chain_in_number_order() {
        let spec = load_workflow(seeds::BUSINESS_EXPANSION_WORKFLOW).unwrap();
        let graph = WorkflowGraph::build(&spec, None).unwrap();
        assert_eq!(graph.edges(), vec![(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]);
        assert_eq!(graph.topological_order(), &[0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn declared_edges_leave_unlinked_steps_as_roots() {
        let g = WorkflowGraph::build(
            &spec(
                r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 3, "name": "c", "primary_expert": "x", "depends_on": [1, 2]},
                {"step": 1, "name": "a", "primary_expert": "x"},
                {"step": 2, "name": "b", "primary_expert": "x"}]}"#,
            ),
            None,
        )
        .unwrap();
        assert_eq!(g.edges(), vec![(1, 3), (2, 3)]);
        assert_eq!(g.dependencies_of(3), vec![1, 2]);
        assert_eq!(g.dependents_of(1), vec![3]);
    }

    #[test]
    fn cycle_names_its_steps() {
        let problems = validate(
            &spec(
                r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 1, "name": "Start", "primary_expert": "x", "next_step": 2},
                {"step": 2, "name": "Strategy Development", "primary_expert": "x", "next_step": 3},
                {"step": 3, "name": "Creative", "primary_expert": "x", "next_step": 2}]}"#,
            ),
            None,
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "workflow_steps: cycle: step 2 (Strategy Development) -> step 3 (Creative) -> step 2 (Strategy Development)"
        );
    }

    #[test]
    fn unknown_experts_name_step_and_expert() {
        let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
        let problems = validate(
            &spec(
                r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 1, "name": "Plan", "primary_expert": "wizard",
                 "collaboration_points": [{"with_expert": "oracle"}]}]}"#,
            ),
            Some(&experts),
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
        let problems = validate(
            &spec(
                r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 1, "name": "a", "primary_expert": "x", "next_step": 9},
                {"step": 1, "name": "b", "primary_expert": "x"}]}"#,
            ),
            None,
        );
        let paths: Vec<&str> = problems.iter().map(Problem::path).collect();
        assert_eq!(
            paths,
            vec!["workflow_steps[1].step", "workflow_steps[0].next_step"]
        );
        let empty = validate(
            &spec(r#"{"workflow_name": "w", "workflow_steps": []}"#),
            None,
        );
        assert_eq!(
            empty[0].to_string(),
            "workflow_steps: the workflow has no steps"
        );
        assert!(matches!(
            WorkflowGraph::build(
                &spec(r#"{"workflow_name": "w", "workflow_steps": []}"#),
                None
            ),
            Err(WorkflowError::Invalid { .. })
        ));
    }
}
