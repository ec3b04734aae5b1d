//! [`StepInfo`]: one step as the engine and executors see it.

use std::sync::Arc;
use std::time::Duration;

use consort_protocol::{
    CollaborationPoint, ExpertId, RetrySpec, StepNumber, ValidationFailurePolicy, WorkflowStep,
};

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
    pub(crate) fn new(step: &WorkflowStep, participants: &[ExpertId]) -> Self {
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

/// `step {number} ({name})`.
pub(crate) fn step_label(number: StepNumber, name: &str) -> String {
    format!("step {number} ({name})")
}
