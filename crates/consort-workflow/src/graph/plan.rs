//! [`Plan`]: what the engine drives a run with.

use std::sync::Arc;

use consort_protocol::{ExpertProfile, StepNumber, WorkflowSpec};
use petgraph::graph::DiGraph;

use super::layout::Layout;
use super::step::StepInfo;
use crate::error::WorkflowError;
use crate::validation::check;

/// Everything of a [`WorkflowGraph`](crate::WorkflowGraph) but the
/// definition itself: what the engine drives a run with. A run does not copy
/// the definition (for a large workflow, copying and freeing it would cost as
/// much as running it).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    name: String,
    pub(super) dag: DiGraph<StepNumber, ()>,
    steps: Vec<Arc<StepInfo>>,
    deps: Adjacency,
    dependents: Adjacency,
    pub(super) topo: Vec<usize>,
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

impl Plan {
    /// Validates `spec` (see [`validate`](crate::validate)) and lays out its
    /// steps and edges.
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
