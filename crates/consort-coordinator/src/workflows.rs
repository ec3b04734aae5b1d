//! Workflow definitions and runs: the spec's `executeWorkflow` and
//! `monitorWorkflowProgress`.

use std::sync::{Arc, PoisonError};

use consort_protocol::WorkflowSpec;
use consort_workflow::{Problem, WorkflowGraph, validate};
use tracing::instrument;

use crate::coordinator::Coordinator;
use crate::error::{CoordinatorError, Result};

impl Coordinator {
    /// Checks `spec` against the registry's experts: structure, cycles, and
    /// every expert it names. Empty when the definition can run.
    #[instrument(skip_all, fields(workflow = %spec.workflow_name))]
    pub async fn validate_workflow(&self, spec: &WorkflowSpec) -> Result<Vec<Problem>> {
        let shared = self.shared();
        shared.view.ensure_current(&shared.registry).await?;
        Ok(validate(spec, Some(&shared.view.profiles())))
    }

    /// Validates `spec` against the registry's experts and keeps it under its
    /// `workflow_name`, replacing a definition of the same name. Runs are
    /// then started by name, without validating again.
    #[instrument(skip_all, fields(workflow = %spec.workflow_name))]
    pub async fn add_workflow(&self, spec: WorkflowSpec) -> Result<Arc<WorkflowGraph>> {
        let graph = Arc::new(self.build_graph(&spec).await?);
        self.shared()
            .workflows
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(spec.workflow_name, Arc::clone(&graph));
        Ok(graph)
    }

    /// The workflow added under `name`.
    pub fn workflow(&self, name: &str) -> Result<Arc<WorkflowGraph>> {
        let workflows = self
            .shared()
            .workflows
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        workflows
            .get(name)
            .cloned()
            .ok_or_else(|| CoordinatorError::UnknownWorkflow {
                name: name.to_owned(),
                known: workflows.keys().cloned().collect(),
            })
    }

    /// Every workflow added, sorted by name.
    pub fn workflows(&self) -> Vec<Arc<WorkflowGraph>> {
        self.shared()
            .workflows
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Builds the graph of `spec`, validated against the registry's experts.
    pub(crate) async fn build_graph(&self, spec: &WorkflowSpec) -> Result<WorkflowGraph> {
        let problems = self.validate_workflow(spec).await?;
        if !problems.is_empty() {
            return Err(CoordinatorError::InvalidWorkflow {
                name: spec.workflow_name.clone(),
                problems,
            });
        }
        Ok(WorkflowGraph::build(spec, None)?)
    }
}
