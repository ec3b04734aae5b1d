//! Events on the coordination bus: the proposal's `MCPEvent` envelope
//! (`type`, `source`, `data`, `timestamp`) with typed data per event type.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ExpertId;

/// An event: what happened (`kind`, serialised as `type` and `data`), who says
/// so and when.
///
/// ```
/// use consort_protocol::{Event, EventKind, TaskEvent};
/// let event = Event::now("agent-coordination", EventKind::TaskClaimed(TaskEvent {
///     task_id: "t-1".into(), agent_id: "agent-1".into(),
/// }));
/// let json = serde_json::to_value(&event)?;
/// assert_eq!(json["type"], "task:claimed");
/// assert_eq!(json["data"]["taskId"], "t-1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event type and its data.
    #[serde(flatten)]
    pub kind: EventKind,
    /// The server or component that published it.
    pub source: String,
    /// When it happened (RFC 3339).
    pub timestamp: Timestamp,
}

impl Event {
    /// An event stamped with the current time.
    pub fn now(source: impl Into<String>, kind: EventKind) -> Self {
        Self {
            kind,
            source: source.into(),
            timestamp: Timestamp::now(),
        }
    }

    /// The `type` string, which is also the topic it is published on.
    pub fn event_type(&self) -> &'static str {
        self.kind.event_type()
    }
}

/// Every event type with its data. The `type` strings are the proposal's,
/// letter for letter, plus `expert:*` and `workflow:*` for consort's own
/// registry and engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[non_exhaustive]
pub enum EventKind {
    /// A file was locked by an agent.
    #[serde(rename = "file:locked")]
    FileLocked(FileLockEvent),
    /// A file lock was released.
    #[serde(rename = "file:unlocked")]
    FileUnlocked(FileLockEvent),
    /// An agent claimed a task.
    #[serde(rename = "task:claimed")]
    TaskClaimed(TaskEvent),
    /// An agent completed a task.
    #[serde(rename = "task:completed")]
    TaskCompleted(TaskEvent),
    /// An agent gave a task back.
    #[serde(rename = "task:released")]
    TaskReleased(TaskEvent),
    /// A service became unhealthy.
    #[serde(rename = "health:degraded")]
    HealthDegraded(HealthEvent),
    /// A service recovered.
    #[serde(rename = "health:recovered")]
    HealthRecovered(HealthEvent),
    /// Cached entries matching a pattern are stale.
    #[serde(rename = "cache:invalidate")]
    CacheInvalidate(CacheEvent),
    /// An expert registered or updated its profile.
    #[serde(rename = "expert:registered")]
    ExpertRegistered(ExpertEvent),
    /// An expert deregistered.
    #[serde(rename = "expert:deregistered")]
    ExpertDeregistered(ExpertEvent),
    /// An expert's heartbeat lapsed; it is offline from now on.
    #[serde(rename = "expert:expired")]
    ExpertExpired(ExpertEvent),
    /// An expert's availability changed.
    #[serde(rename = "expert:availability")]
    ExpertAvailability(ExpertEvent),
    /// Calls to an expert kept failing; they fail fast until a probe succeeds.
    #[serde(rename = "expert:circuit_opened")]
    ExpertCircuitOpened(CircuitEvent),
    /// A probe call to an expert whose circuit was open succeeded.
    #[serde(rename = "expert:circuit_closed")]
    ExpertCircuitClosed(CircuitEvent),
    /// A workflow run started.
    #[serde(rename = "workflow:started")]
    WorkflowStarted(WorkflowProgress),
    /// A step began an attempt.
    #[serde(rename = "workflow:step_started")]
    StepStarted(WorkflowProgress),
    /// A step completed.
    #[serde(rename = "workflow:step_completed")]
    StepCompleted(WorkflowProgress),
    /// The expert running a step reported progress (`detail` says how far).
    #[serde(rename = "workflow:step_progress")]
    StepProgress(WorkflowProgress),
    /// A step attempt failed (it may be retried).
    #[serde(rename = "workflow:step_failed")]
    StepFailed(WorkflowProgress),
    /// A step waits for a human answer.
    #[serde(rename = "workflow:waiting_for_human")]
    WaitingForHuman(WorkflowProgress),
    /// A run finished with every step done.
    #[serde(rename = "workflow:completed")]
    WorkflowCompleted(WorkflowProgress),
    /// A run failed.
    #[serde(rename = "workflow:failed")]
    WorkflowFailed(WorkflowProgress),
    /// A run was cancelled.
    #[serde(rename = "workflow:cancelled")]
    WorkflowCancelled(WorkflowProgress),
    /// A run was paused (its engine shut down); resuming it continues it.
    #[serde(rename = "workflow:paused")]
    WorkflowPaused(WorkflowProgress),
}

impl EventKind {
    /// The `type` string of this event.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::FileLocked(_) => "file:locked",
            Self::FileUnlocked(_) => "file:unlocked",
            Self::TaskClaimed(_) => "task:claimed",
            Self::TaskCompleted(_) => "task:completed",
            Self::TaskReleased(_) => "task:released",
            Self::HealthDegraded(_) => "health:degraded",
            Self::HealthRecovered(_) => "health:recovered",
            Self::CacheInvalidate(_) => "cache:invalidate",
            Self::ExpertRegistered(_) => "expert:registered",
            Self::ExpertDeregistered(_) => "expert:deregistered",
            Self::ExpertExpired(_) => "expert:expired",
            Self::ExpertAvailability(_) => "expert:availability",
            Self::ExpertCircuitOpened(_) => "expert:circuit_opened",
            Self::ExpertCircuitClosed(_) => "expert:circuit_closed",
            Self::WorkflowStarted(_) => "workflow:started",
            Self::StepStarted(_) => "workflow:step_started",
            Self::StepCompleted(_) => "workflow:step_completed",
            Self::StepProgress(_) => "workflow:step_progress",
            Self::StepFailed(_) => "workflow:step_failed",
            Self::WaitingForHuman(_) => "workflow:waiting_for_human",
            Self::WorkflowCompleted(_) => "workflow:completed",
            Self::WorkflowFailed(_) => "workflow:failed",
            Self::WorkflowCancelled(_) => "workflow:cancelled",
            Self::WorkflowPaused(_) => "workflow:paused",
        }
    }
}

/// Data of `file:locked` and `file:unlocked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileLockEvent {
    /// The file path.
    pub file: String,
    /// The agent holding or releasing the lock.
    pub agent_id: String,
}

/// Data of `task:claimed`, `task:completed` and `task:released`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEvent {
    /// The task.
    pub task_id: String,
    /// The agent acting on it.
    pub agent_id: String,
}

/// Data of `health:degraded` and `health:recovered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthEvent {
    /// The service concerned.
    pub service: String,
    /// Its status, in the reporter's words.
    pub status: String,
}

/// Data of `cache:invalidate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEvent {
    /// Keys matching this pattern are stale.
    pub pattern: String,
    /// Why.
    pub reason: String,
}

/// Data of the `expert:*` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpertEvent {
    /// The expert concerned.
    pub expert_id: ExpertId,
    /// Its availability after the change, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<crate::Availability>,
}

/// Data of `expert:circuit_opened` and `expert:circuit_closed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitEvent {
    /// The expert whose calls the circuit guards.
    pub expert_id: ExpertId,
    /// Failures in a row that led here (0 when a probe closed the circuit).
    pub consecutive_failures: u32,
    /// The last failure, for an opened circuit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Data of the `workflow:*` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowProgress {
    /// The run.
    pub run_id: String,
    /// The workflow's name.
    pub workflow: String,
    /// The step concerned, for step events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The attempt number, for step events (1 for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Share of steps completed, 0 to 100.
    pub percent_complete: f64,
    /// A failure message, a question for a human, or other detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
