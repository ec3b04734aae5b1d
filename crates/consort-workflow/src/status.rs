//! What a run and its steps look like from outside: [`RunStatus`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use consort_protocol::StepNumber;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::settings::{RunSettings, SettingsChange};

/// The state of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunState {
    /// Being driven, or left by a process that died (see [`Engine::resume`](crate::Engine::resume)).
    Running,
    /// Paused until [`Engine::answer_human`](crate::Engine::answer_human) answers a step's question.
    WaitingForHuman,
    /// Stopped by [`Engine::pause`](crate::Engine::pause) (an engine shutting
    /// down): nothing runs and no engine holds it; [`Engine::resume`](crate::Engine::resume)
    /// continues it.
    Paused,
    /// Every step completed.
    Completed,
    /// A step failed for good.
    Failed,
    /// Cancelled by [`Engine::cancel`](crate::Engine::cancel).
    Cancelled,
}

impl RunState {
    /// True for completed, failed and cancelled runs, which nothing changes any more.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The snake_case name (`waiting_for_human`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::WaitingForHuman => "waiting_for_human",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of one step.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepState {
    /// Not started (its dependencies are not complete yet).
    #[default]
    Pending,
    /// An attempt is in flight, or waits for its retry backoff.
    Running,
    /// Done; its outputs are recorded and it never runs again.
    Completed,
    /// Failed for good (retries exhausted, or a non-retryable failure).
    Failed,
    /// Asked a human a question; [`Engine::answer_human`](crate::Engine::answer_human) resumes it.
    WaitingForHuman,
    /// Will not run: a dependency failed, or the run stopped first.
    Skipped,
    /// Was in flight when the run was cancelled or failed fast.
    Cancelled,
}

impl StepState {
    /// The snake_case name (`waiting_for_human`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::WaitingForHuman => "waiting_for_human",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress of a run, as [`Engine::status`](crate::Engine::status) reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunStatus {
    /// The run.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// The run's state.
    pub state: RunState,
    /// Share of steps completed, 0 to 100.
    pub percent_complete: f64,
    /// Why the run failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every step, sorted by number.
    pub steps: Vec<StepStatus>,
    /// The settings the run executes with; `None` for runs recorded before
    /// settings were stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RunSettings>,
    /// Changes of the settings made by resumes, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings_changes: Vec<SettingsChange>,
    /// The engine driving the run right now, as its lease says; only
    /// [`Engine::status`](crate::Engine::status) looks it up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<RunOwner>,
}

/// Who drives a run, from its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunOwner {
    /// The owner id of the engine holding the run's lease.
    pub holder: String,
    /// When the lease lapses unless the holder renews it (a live holder
    /// renews it every third of its TTL; a dead one does not).
    #[serde(with = "jiff::fmt::serde::unsigned_duration::friendly::compact::required")]
    pub lease_lapses_in: Duration,
}

impl RunStatus {
    /// The status of step `number`.
    pub fn step(&self, number: StepNumber) -> Option<&StepStatus> {
        self.steps.iter().find(|s| s.id == number)
    }

    /// Numbers of the steps in `state`.
    pub fn steps_in(&self, state: StepState) -> Vec<StepNumber> {
        self.steps
            .iter()
            .filter(|s| s.state == state)
            .map(|s| s.id)
            .collect()
    }
}

/// Progress of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StepStatus {
    /// The step's number.
    pub id: StepNumber,
    /// Its name (shared with the step's [`StepInfo`](crate::StepInfo)).
    pub name: Arc<str>,
    /// Its primary expert (shared likewise).
    pub expert: Arc<str>,
    /// Its state.
    pub state: StepState,
    /// Attempts started so far.
    pub attempts: u32,
    /// When the latest attempt started.
    pub started_at: Option<Timestamp>,
    /// When it completed, failed for good or was skipped.
    pub finished_at: Option<Timestamp>,
    /// Its outputs, once completed.
    pub outputs: Option<serde_json::Map<String, serde_json::Value>>,
    /// The last failure message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The question for a human, while waiting for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}
