//! The steps of a definition in number order and the edges the edge rule
//! gives them (see the [`graph`](super) module docs).

use consort_protocol::{StepNumber, WorkflowSpec, WorkflowStep};
use petgraph::graph::{DiGraph, NodeIndex};

/// The steps sorted by number (first occurrence wins on duplicates, which
/// validation reports) and the edges the edge rule gives.
pub(crate) struct Layout<'a> {
    pub(crate) steps: Vec<&'a WorkflowStep>,
    /// `(from, to)` step indices, sorted, without repeats.
    pub(crate) edges: Vec<(usize, usize)>,
    pub(crate) dag: DiGraph<StepNumber, ()>,
    /// A topological order, or `None` when there is a cycle.
    pub(crate) topo: Option<Vec<usize>>,
}

impl<'a> Layout<'a> {
    pub(crate) fn new(spec: &'a WorkflowSpec) -> Self {
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
}
