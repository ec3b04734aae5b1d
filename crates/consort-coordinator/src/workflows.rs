//! Workflow definitions and runs: the spec's `executeWorkflow` and
//! `monitorWorkflowProgress`.

use std::sync::{Arc, PoisonError};

use consort_protocol::{StepNumber, WorkflowSpec};
use consort_workflow::{
    JsonMap, Problem, RunHandle, RunStatus, RunWatch, WorkflowGraph, validate_for,
};
use serde_json::Value;
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
        Ok(validate_for(spec, &shared.view.profiles()))
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

    /// Starts a run of the workflow added under `name` with `params`, driven
    /// in the background; returns at once with its handle (its id, and a
    /// way to wait for it). The spec's `executeWorkflow`.
    ///
    /// For a run id of your own or per-run settings, use the engine's
    /// builder: `coordinator.engine().new_run(&coordinator.workflow(name)?)`.
    #[instrument(skip(self, params))]
    pub async fn start_workflow(&self, name: &str, params: JsonMap) -> Result<RunHandle> {
        let graph = self.workflow(name)?;
        Ok(self
            .engine()
            .new_run(&graph)
            .with_params(params)
            .start()
            .await?)
    }

    /// Runs the workflow added under `name` in the calling task until it
    /// finishes or waits for a human, and returns its status.
    #[instrument(skip(self, params))]
    pub async fn execute_workflow(&self, name: &str, params: JsonMap) -> Result<RunStatus> {
        let graph = self.workflow(name)?;
        Ok(self
            .engine()
            .new_run(&graph)
            .with_params(params)
            .run_to_end()
            .await?)
    }

    /// A run's status as stored: every step's state, attempts, outputs and
    /// any question waiting for a human; the run's owner. Works for runs
    /// driven by any process on the backend. The spec's
    /// `monitorWorkflowProgress`.
    #[instrument(skip(self))]
    pub async fn workflow_status(&self, run_id: &str) -> Result<RunStatus> {
        Ok(self.engine().status(run_id).await?)
    }

    /// Waits until a run, driven by any process on the backend, finishes or
    /// waits for a human.
    #[instrument(skip(self))]
    pub async fn await_workflow(&self, run_id: &str) -> Result<RunStatus> {
        Ok(self.engine().wait(run_id).await?)
    }

    /// Follows a run, driven by any process on the backend: one update per
    /// step started, completed or failed (`n` of `N`, with the step's name),
    /// ending when the run finishes.
    #[instrument(skip(self))]
    pub async fn watch_workflow(&self, run_id: &str) -> Result<RunWatch> {
        Ok(self.engine().watch(run_id).await?)
    }

    /// Answers the question of `step`, which waits for a human, and drives
    /// the run on in the background.
    #[instrument(skip(self, answer))]
    pub async fn answer_workflow(
        &self,
        run_id: &str,
        step: StepNumber,
        answer: Value,
    ) -> Result<RunHandle> {
        Ok(self
            .engine()
            .resume(run_id)
            .with_human_answer(step, answer)
            .start()
            .await?)
    }

    /// Cancels a run: steps in flight are dropped, the rest skipped.
    #[instrument(skip(self))]
    pub async fn cancel_workflow(&self, run_id: &str) -> Result<()> {
        Ok(self.engine().cancel(run_id).await?)
    }

    /// Takes over a run left by a process that died (or paused) and drives
    /// it on in the background; completed steps never run again.
    #[instrument(skip(self))]
    pub async fn resume_workflow(&self, run_id: &str) -> Result<RunHandle> {
        Ok(self.engine().resume(run_id).start().await?)
    }

    /// Builds the graph of `spec`, validated against the registry's experts,
    /// without adding it: for a run of a one-off definition
    /// (`coordinator.engine().new_run(&graph)`).
    #[instrument(skip_all, fields(workflow = %spec.workflow_name))]
    pub async fn build_graph(&self, spec: &WorkflowSpec) -> Result<WorkflowGraph> {
        let problems = self.validate_workflow(spec).await?;
        if !problems.is_empty() {
            return Err(CoordinatorError::InvalidWorkflow {
                name: spec.workflow_name.clone(),
                problems,
            });
        }
        Ok(WorkflowGraph::build(spec)?)
    }
}
