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

mod layout;
mod plan;
mod step;

use std::sync::{Arc, OnceLock};

use consort_protocol::{ExpertProfile, StepNumber, WorkflowSpec};
use petgraph::graph::DiGraph;

pub(crate) use layout::Layout;
pub(crate) use plan::Plan;
pub use step::StepInfo;
pub(crate) use step::step_label;

use crate::error::WorkflowError;

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

impl WorkflowGraph {
    /// Validates `spec` (see [`validate`](crate::validate)) and builds its
    /// DAG. The experts it names are not checked; see
    /// [`build_for`](Self::build_for).
    ///
    /// ```
    /// use consort_protocol::{load_workflow, seeds};
    /// use consort_workflow::WorkflowGraph;
    /// let spec = load_workflow(seeds::BUSINESS_EXPANSION_WORKFLOW)?;
    /// let graph = WorkflowGraph::build(&spec)?;
    /// // No next_step anywhere: chained by number.
    /// assert_eq!(graph.dependencies_of(5), vec![4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(spec: &WorkflowSpec) -> Result<Self, WorkflowError> {
        Self::assemble(spec, None)
    }

    /// Like [`build`](Self::build), and every expert the workflow names must
    /// be among `experts` (see [`validate_for`](crate::validate_for)).
    pub fn build_for(
        spec: &WorkflowSpec,
        experts: &[ExpertProfile],
    ) -> Result<Self, WorkflowError> {
        Self::assemble(spec, Some(experts))
    }

    fn assemble(
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
        self.plan.steps().is_empty()
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
        let graph = WorkflowGraph::build_for(&spec, &experts).unwrap();
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
        let graph = WorkflowGraph::build(&spec).unwrap();
        assert_eq!(graph.edges(), vec![(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]);
        assert_eq!(graph.topological_order(), &[0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn declared_edges_leave_unlinked_steps_as_roots() {
        let g = WorkflowGraph::build(&spec(
            r#"{"workflow_name": "w", "workflow_steps": [
                {"step": 3, "name": "c", "primary_expert": "x", "depends_on": [1, 2]},
                {"step": 1, "name": "a", "primary_expert": "x"},
                {"step": 2, "name": "b", "primary_expert": "x"}]}"#,
        ))
        .unwrap();
        assert_eq!(g.edges(), vec![(1, 3), (2, 3)]);
        assert_eq!(g.dependencies_of(3), vec![1, 2]);
        assert_eq!(g.dependents_of(1), vec![3]);
    }
}
