//! Following a run from any process on the same backend: [`Engine::watch`]
//! streams its progress, [`Engine::wait`] returns when it is over.
//!
//! Both follow the run's `workflow:*` events and, because pub/sub may drop
//! messages (a slow subscriber, a lost connection), also read the run's
//! record every [`EngineConfig::watch_interval`](crate::EngineConfig::watch_interval):
//! a run whose final event was lost still ends the watch.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use consort_protocol::{Event, EventKind, StepNumber, WorkflowProgress};
use consort_state::retry::RetryBudget;
use consort_state::{Delivery, StateBackend, Subscription};
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::driver::Driver;
use crate::engine::Engine;
use crate::error::WorkflowError;
use crate::graph::Plan;
use crate::records::validate_run_id;
use crate::status::{RunState, RunStatus, StepState};
use crate::stored::{load, run_record};

/// The topic pattern of every progress event.
const EVENTS: &str = "workflow:*";

/// What a [`RunProgress`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProgressKind {
    /// The watch began: the run as it is now.
    Attached,
    /// An engine started driving the run (a new run, or a resumed one).
    Started,
    /// An attempt of a step started.
    StepStarted,
    /// A step completed.
    StepCompleted,
    /// The expert running a step reported progress (`detail`:
    /// `progress/total: message`); see [`StepContext::report_progress`].
    ///
    /// [`StepContext::report_progress`]: crate::StepContext::report_progress
    StepProgress,
    /// An attempt of a step failed (it may be retried).
    StepFailed,
    /// A step asked a human (with a step), or the run paused for one
    /// (without).
    WaitingForHuman,
    /// Every step completed.
    Completed,
    /// The run failed.
    Failed,
    /// The run was cancelled.
    Cancelled,
    /// The run was paused; a resume continues it.
    Paused,
}

/// One update about a run, from [`Engine::watch`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunProgress {
    /// The run.
    pub run_id: String,
    /// What happened.
    pub kind: ProgressKind,
    /// The run's state after it; the last update of a watch has a finished
    /// one.
    pub run_state: RunState,
    /// The step concerned, for step updates.
    pub step: Option<StepNumber>,
    /// That step's name.
    pub step_name: Option<Arc<str>>,
    /// The attempt number, for step updates.
    pub attempt: Option<u32>,
    /// Steps completed so far (the `n` of "n of N").
    pub completed: usize,
    /// Steps in the workflow (the `N`).
    pub total: usize,
    /// A failure message, a question for a human, or other detail.
    pub detail: Option<String>,
}

/// The updates of one run, from [`Engine::watch`]: a
/// [`Stream`](futures_util::Stream) that ends after the update in which the
/// run is finished. Dropping it stops following the run.
#[derive(Debug)]
pub struct RunWatch {
    updates: mpsc::Receiver<Result<RunProgress, WorkflowError>>,
    follower: JoinHandle<()>,
}

impl RunWatch {
    /// The next update; `None` once the run is finished (or after an error).
    pub async fn recv(&mut self) -> Option<Result<RunProgress, WorkflowError>> {
        self.updates.recv().await
    }
}

impl Stream for RunWatch {
    type Item = Result<RunProgress, WorkflowError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.updates.poll_recv(cx)
    }
}

impl Drop for RunWatch {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

impl Engine {
    /// Follows run `run_id`, wherever it is driven: an update when the watch
    /// begins ([`ProgressKind::Attached`]), then one per progress event, with
    /// the step's name and "n of N"; the stream ends when the run is
    /// finished. Fails with [`WorkflowError::RunNotFound`] for a run the
    /// backend does not know.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use consort_protocol::{load_workflow, seeds};
    /// # use consort_state::MemoryBackend;
    /// # use consort_workflow::{Engine, EngineConfig, ProgressKind, SimulatedExecutor, WorkflowGraph};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let graph = WorkflowGraph::build(&load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?)?;
    /// # let engine = Engine::new(Arc::new(MemoryBackend::new("docs")?), Arc::new(SimulatedExecutor::new()), EngineConfig::default())?;
    /// let handle = engine.new_run(&graph).with_run_id("m-1").start().await?;
    /// let mut watch = engine.watch("m-1").await?;
    /// let mut lines = Vec::new();
    /// while let Some(update) = watch.recv().await {
    ///     let update = update?;
    ///     if update.kind == ProgressKind::StepCompleted {
    ///         let name = update.step_name.as_deref().unwrap_or("?");
    ///         lines.push(format!("{name}: {} of {}", update.completed, update.total));
    ///     }
    /// }
    /// // The watch may have begun after the first steps completed.
    /// assert_eq!(lines.last().map(String::as_str), Some("Implementation Coordination: 5 of 5"));
    /// # handle.wait().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[tracing::instrument(skip(self))]
    pub async fn watch(&self, run_id: &str) -> Result<RunWatch, WorkflowError> {
        validate_run_id(run_id)?;
        let backend = Arc::clone(&self.inner.backend);
        // Subscribed before reading, so nothing between the two is missed.
        let events = backend
            .subscribe(EVENTS)
            .await
            .map_err(WorkflowError::state(
                run_id,
                "subscribing to progress events",
            ))?;
        let stored = load(backend.as_ref(), &self.inner.config.backend_retry, run_id).await?;
        let completed = stored
            .steps
            .iter()
            .filter(|s| s.state == StepState::Completed)
            .count();
        let follower = Follower {
            backend,
            run_id: run_id.to_owned(),
            plan: stored.graph,
            interval: self.inner.config.watch_interval,
            run_state: stored.run.state,
            durable: true,
        };
        Ok(follower.spawn(completed, events))
    }

    /// Subscribes to progress events, for a watch of a run about to be
    /// driven here (see [`Self::watch_driver`]).
    pub(crate) async fn subscribe_progress(
        &self,
        run_id: &str,
    ) -> Result<Subscription, WorkflowError> {
        self.inner
            .backend
            .subscribe(EVENTS)
            .await
            .map_err(WorkflowError::state(
                run_id,
                "subscribing to progress events",
            ))
    }

    /// A watch of the run `driver` is about to drive, following `events`
    /// (subscribed before the run's first event).
    pub(crate) fn watch_driver(&self, driver: &Driver, events: Subscription) -> RunWatch {
        let (plan, completed, durable) = driver.progress();
        let follower = Follower {
            backend: Arc::clone(&self.inner.backend),
            run_id: driver.run_id().to_owned(),
            plan,
            interval: self.inner.config.watch_interval,
            run_state: RunState::Running,
            durable,
        };
        follower.spawn(completed, events)
    }

    /// Waits until run `run_id` is finished, waits for a human or was paused,
    /// and returns its status; the run may be driven by any engine on the
    /// same backend. A run nobody drives (its process died: its state is
    /// still `running`) is waited for until some engine resumes it.
    ///
    /// When this engine drives the run, `wait` also waits for its driver to
    /// let the run go, so that an answer or a resume right after it (as an
    /// MCP server does when it asks a human mid-call) finds the run free
    /// rather than [`WorkflowError::RunOwned`].
    #[tracing::instrument(skip(self))]
    pub async fn wait(&self, run_id: &str) -> Result<RunStatus, WorkflowError> {
        let mut watch = self.watch(run_id).await?;
        while let Some(update) = watch.recv().await {
            let state = update?.run_state;
            if state.is_finished() || matches!(state, RunState::WaitingForHuman | RunState::Paused)
            {
                break;
            }
        }
        self.released_here(run_id).await;
        self.status(run_id).await
    }

    /// Returns once no driver of this engine holds run `run_id`: the state
    /// a driver records is visible before it drops its ownership.
    async fn released_here(&self, run_id: &str) {
        let driving = self
            .inner
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(run_id)
            .cloned();
        if let Some(signals) = driving {
            // Every receiver is the driver's; the last goes with its
            // ownership.
            signals.closed().await;
        }
    }
}

/// The task behind a [`RunWatch`].
struct Follower {
    backend: Arc<dyn StateBackend>,
    run_id: String,
    plan: Arc<Plan>,
    interval: Duration,
    /// The run state reported last.
    run_state: RunState,
    /// Whether the run has records to read again (an ephemeral run has
    /// only its events).
    durable: bool,
}

type Updates = mpsc::Sender<Result<RunProgress, WorkflowError>>;

impl Follower {
    /// Starts following, with an [`ProgressKind::Attached`] update first.
    fn spawn(self, completed: usize, events: Subscription) -> RunWatch {
        let attached = self.update(ProgressKind::Attached, self.run_state, completed);
        let (sender, updates) = mpsc::channel(64);
        let follower = tokio::spawn(self.follow(attached, events, sender));
        RunWatch { updates, follower }
    }

    async fn follow(mut self, attached: RunProgress, events: Subscription, updates: Updates) {
        if !self.send(&updates, Ok(attached)).await {
            return;
        }
        let mut events = Some(events);
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            let delivery = async {
                match events.as_mut() {
                    Some(events) => events.recv().await,
                    None => std::future::pending().await,
                }
            };
            let next = tokio::select! {
                () = updates.closed() => return,
                delivery = delivery => match delivery {
                    Some(Delivery::Message { payload, .. }) => self.progress_of(&payload).map(Ok),
                    // Events were lost: the record says where the run is.
                    Some(Delivery::Lagged { .. }) => self.recheck().await,
                    None => {
                        events = None;
                        None
                    }
                },
                _ = ticks.tick() => {
                    if events.is_none() {
                        events = self.backend.subscribe(EVENTS).await.ok();
                    }
                    self.recheck().await
                }
            };
            if let Some(next) = next
                && !self.send(&updates, next).await
            {
                return;
            }
        }
    }

    /// Sends `update`; false when the watch is over (the run finished, an
    /// error was sent, or nobody listens any more).
    async fn send(
        &mut self,
        updates: &Updates,
        update: Result<RunProgress, WorkflowError>,
    ) -> bool {
        let go_on = match &update {
            Ok(progress) => {
                self.run_state = progress.run_state;
                !progress.run_state.is_finished()
            }
            Err(_) => false,
        };
        updates.send(update).await.is_ok() && go_on
    }

    /// The update an event of this run gives; `None` for other runs' events
    /// and for messages that are not progress events.
    fn progress_of(&self, payload: &[u8]) -> Option<RunProgress> {
        let event: Event = serde_json::from_slice(payload).ok()?;
        let (kind, progress): (ProgressKind, WorkflowProgress) = match event.kind {
            EventKind::WorkflowStarted(p) => (ProgressKind::Started, p),
            EventKind::StepStarted(p) => (ProgressKind::StepStarted, p),
            EventKind::StepCompleted(p) => (ProgressKind::StepCompleted, p),
            EventKind::StepProgress(p) => (ProgressKind::StepProgress, p),
            EventKind::StepFailed(p) => (ProgressKind::StepFailed, p),
            EventKind::WaitingForHuman(p) => (ProgressKind::WaitingForHuman, p),
            EventKind::WorkflowCompleted(p) => (ProgressKind::Completed, p),
            EventKind::WorkflowFailed(p) => (ProgressKind::Failed, p),
            EventKind::WorkflowCancelled(p) => (ProgressKind::Cancelled, p),
            EventKind::WorkflowPaused(p) => (ProgressKind::Paused, p),
            _ => return None,
        };
        if progress.run_id != self.run_id {
            return None;
        }
        let step = progress.step.as_deref().and_then(|s| s.parse().ok());
        let run_state = match kind {
            ProgressKind::Completed => RunState::Completed,
            ProgressKind::Failed => RunState::Failed,
            ProgressKind::Cancelled => RunState::Cancelled,
            ProgressKind::Paused => RunState::Paused,
            ProgressKind::WaitingForHuman if step.is_none() => RunState::WaitingForHuman,
            _ => RunState::Running,
        };
        let total = self.plan.len();
        // The event carries completed * 100 / total; this gives it back exactly.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let completed = (progress.percent_complete * total as f64 / 100.0).round() as usize;
        let mut update = self.update(kind, run_state, completed.min(total));
        update.step_name = step
            .and_then(|n| self.plan.index_of(n))
            .and_then(|i| self.plan.steps().get(i))
            .map(|s| Arc::clone(&s.name));
        update.step = step;
        update.attempt = progress.attempt;
        update.detail = progress.detail;
        Some(update)
    }

    /// Reads the run's record; an update when its state changed without an
    /// event saying so. Transient backend errors wait for the next tick.
    async fn recheck(&self) -> Option<Result<RunProgress, WorkflowError>> {
        if !self.durable {
            return None;
        }
        // One attempt: a transient error waits for the next tick.
        let once = RetryBudget::none();
        let state = match run_record(self.backend.as_ref(), &once, &self.run_id).await {
            Ok(run) => run.state,
            Err(e) if e.is_transient() => return None,
            Err(e) => return Some(Err(e)),
        };
        if state == self.run_state {
            return None;
        }
        let stored = match load(self.backend.as_ref(), &once, &self.run_id).await {
            Ok(stored) => stored,
            Err(e) if e.is_transient() => return None,
            Err(e) => return Some(Err(e)),
        };
        let kind = match stored.run.state {
            RunState::Completed => ProgressKind::Completed,
            RunState::Failed => ProgressKind::Failed,
            RunState::Cancelled => ProgressKind::Cancelled,
            RunState::WaitingForHuman => ProgressKind::WaitingForHuman,
            RunState::Paused => ProgressKind::Paused,
            RunState::Running => ProgressKind::Started,
        };
        let completed = stored
            .steps
            .iter()
            .filter(|s| s.state == StepState::Completed)
            .count();
        let mut update = self.update(kind, stored.run.state, completed);
        update.detail = stored.run.error;
        Some(Ok(update))
    }

    fn update(&self, kind: ProgressKind, run_state: RunState, completed: usize) -> RunProgress {
        RunProgress {
            run_id: self.run_id.clone(),
            kind,
            run_state,
            step: None,
            step_name: None,
            attempt: None,
            completed,
            total: self.plan.len(),
            detail: None,
        }
    }
}
