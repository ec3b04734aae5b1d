//! Starting runs: [`RunBuilder`] for a new run, [`ResumeBuilder`] for a run
//! found in the backend, [`RunHandle`] for a run driven in the background.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use consort_protocol::StepNumber;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::driver::Driver;
use crate::engine::Engine;
use crate::error::WorkflowError;
use crate::executor::JsonMap;
use crate::graph::WorkflowGraph;
use crate::ownership::Ownership;
use crate::records::{spec_record, validate_run_id};
use crate::settings::{Durability, RunSettings, SettingsChange};
use crate::status::{RunState, RunStatus, StepState};
use crate::stored::load;
use crate::watch::RunWatch;

/// A change of a run's settings, applied to the settings it would run with.
type SettingsEdit<'a> = Box<dyn FnOnce(RunSettings) -> RunSettings + Send + 'a>;

/// A new run of a workflow, made by [`Engine::new_run`]: set its parameters,
/// id and settings, then [`start`](Self::start) it in the background or
/// [`run_to_end`](Self::run_to_end) in the calling task.
///
/// ```
/// # use std::sync::Arc;
/// # use consort_protocol::{load_workflow, seeds};
/// # use consort_state::MemoryBackend;
/// # use consort_workflow::{Engine, EngineConfig, SimulatedExecutor, WorkflowGraph};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let graph = WorkflowGraph::build(&load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?)?;
/// # let engine = Engine::new(Arc::new(MemoryBackend::new("docs")?), Arc::new(SimulatedExecutor::new()), EngineConfig::default())?;
/// let mut params = serde_json::Map::new();
/// params.insert("client".into(), "acme".into());
/// let status = engine
///     .new_run(&graph)
///     .with_params(params)
///     .with_run_id("acme-1")
///     .with_settings(|s| s.with_concurrency(2))
///     .run_to_end()
///     .await?;
/// assert_eq!(status.run_id, "acme-1");
/// # Ok(())
/// # }
/// ```
#[must_use = "a run starts only with `start` or `run_to_end`"]
pub struct RunBuilder<'a> {
    engine: &'a Engine,
    graph: &'a WorkflowGraph,
    params: JsonMap,
    run_id: Option<String>,
    settings: RunSettings,
}

impl fmt::Debug for RunBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunBuilder")
            .field("workflow", &self.graph.name())
            .field("run_id", &self.run_id)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<'a> RunBuilder<'a> {
    pub(crate) fn new(engine: &'a Engine, graph: &'a WorkflowGraph) -> Self {
        Self {
            engine,
            graph,
            params: JsonMap::new(),
            run_id: None,
            settings: engine.config().run,
        }
    }

    /// The run's parameters, handed to every step (default: none).
    pub fn with_params(mut self, params: JsonMap) -> Self {
        self.params = params;
        self
    }

    /// The run's id (default: a fresh UUIDv7). Starting fails with
    /// [`WorkflowError::RunExists`] if the id is taken.
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// Changes this run's settings, starting from the engine's
    /// [`EngineConfig::run`](crate::EngineConfig::run).
    pub fn with_settings(mut self, change: impl FnOnce(RunSettings) -> RunSettings) -> Self {
        self.settings = change(self.settings);
        self
    }

    /// Records the run and drives it on a spawned task.
    #[tracing::instrument(skip_all, fields(workflow = %self.graph.name(), run_id = self.run_id.as_deref()))]
    pub async fn start(self) -> Result<RunHandle, WorkflowError> {
        let driver = self.begin().await?;
        Ok(RunHandle::driving(driver))
    }

    /// Like [`start`](Self::start), and follows the run from its first
    /// event: [`RunWatch`] as [`Engine::watch`] gives it, without missing
    /// the updates between the start and a later `watch`.
    #[tracing::instrument(skip_all, fields(workflow = %self.graph.name(), run_id = self.run_id.as_deref()))]
    pub async fn start_watched(mut self) -> Result<(RunHandle, RunWatch), WorkflowError> {
        let engine = self.engine;
        let run_id = self
            .run_id
            .get_or_insert_with(|| uuid::Uuid::now_v7().to_string())
            .clone();
        validate_run_id(&run_id)?;
        let events = engine.subscribe_progress(&run_id).await?;
        let driver = self.begin().await?;
        let watch = engine.watch_driver(&driver, events);
        Ok((RunHandle::driving(driver), watch))
    }

    /// Records the run and drives it in the calling task; returns its final
    /// (or paused) status.
    #[tracing::instrument(skip_all, fields(workflow = %self.graph.name(), run_id = self.run_id.as_deref()))]
    pub async fn run_to_end(self) -> Result<RunStatus, WorkflowError> {
        self.begin().await?.drive().await
    }

    async fn begin(self) -> Result<Driver, WorkflowError> {
        let Self {
            engine,
            graph,
            params,
            run_id,
            settings,
        } = self;
        settings.check()?;
        let run_id = run_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        validate_run_id(&run_id)?;
        let durable = settings.durability == Durability::Steps;
        let spec = if durable {
            let record = spec_record(&run_id, graph, &params)?;
            engine.check_size(graph, record.len())?;
            Some(record)
        } else {
            None
        };
        let ownership = Ownership::take(&engine.inner, &run_id, durable).await?;
        let plan = Arc::clone(graph.plan());
        let mut driver = Driver::new_run(&engine.inner, &run_id, plan, params, settings, ownership);
        if let Err(e) = driver.begin(spec).await {
            // The lease may guard a run of the same id that someone resumes.
            driver.abandon().await;
            return Err(e);
        }
        Ok(driver)
    }
}

/// A stored run to continue, made by [`Engine::resume`]; then
/// [`run_to_end`](Self::run_to_end) in the calling task or
/// [`start`](Self::start) it in the background.
///
/// Resuming a completed run returns its status as it is. Resuming fails with
/// [`WorkflowError::RunOwned`] while another engine drives the run (including
/// one that died less than its lease TTL ago), and with
/// [`WorkflowError::RunFinished`] for failed and cancelled runs.
#[must_use = "a run is resumed only by `start` or `run_to_end`"]
pub struct ResumeBuilder<'a> {
    engine: &'a Engine,
    run_id: String,
    answer: Option<(StepNumber, Value)>,
    settings: Option<SettingsEdit<'a>>,
    lease_wait: Duration,
}

impl fmt::Debug for ResumeBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResumeBuilder")
            .field("run_id", &self.run_id)
            .field("answer", &self.answer)
            .field("changes_settings", &self.settings.is_some())
            .field("lease_wait", &self.lease_wait)
            .finish_non_exhaustive()
    }
}

/// What taking a stored run over gives.
enum Taken {
    Drive(Box<Driver>),
    Completed(Box<RunStatus>),
}

impl<'a> ResumeBuilder<'a> {
    pub(crate) fn new(engine: &'a Engine, run_id: String) -> Self {
        Self {
            engine,
            run_id,
            answer: None,
            settings: None,
            lease_wait: Duration::ZERO,
        }
    }

    /// Answers the question of step `step`, which waits for a human.
    ///
    /// The step runs again with its next attempt number and the answer in
    /// its inputs under `"human_answer"` (its question under
    /// `"human_question"`); the executor turns it into outputs. The answer is
    /// stored with the step until it completes, so a crash does not lose it.
    /// Fails with [`WorkflowError::NotWaitingForHuman`] if the step does not
    /// wait for an answer, [`WorkflowError::UnknownStep`] if the run has no
    /// such step.
    pub fn with_human_answer(mut self, step: StepNumber, answer: Value) -> Self {
        self.answer = Some((step, answer));
        self
    }

    /// Changes the settings the run continues with: `change` is given the
    /// settings stored with the run (the engine's, for runs recorded before
    /// settings were stored). A change is recorded in the run
    /// ([`RunStatus::settings_changes`]); durability cannot change.
    pub fn with_settings(
        mut self,
        change: impl FnOnce(RunSettings) -> RunSettings + Send + 'a,
    ) -> Self {
        self.settings = Some(Box::new(change));
        self
    }

    /// While another engine holds the run's lease, waits up to `max` for it
    /// to lapse (a dead holder's lease lapses within its TTL; a live holder
    /// keeps renewing it), instead of failing at once with
    /// [`WorkflowError::RunOwned`] (default: no wait).
    pub fn with_lease_wait(mut self, max: Duration) -> Self {
        self.lease_wait = max;
        self
    }

    /// Takes the run over and drives it on a spawned task.
    #[tracing::instrument(skip_all, fields(run_id = %self.run_id))]
    pub async fn start(self) -> Result<RunHandle, WorkflowError> {
        Ok(match self.take().await? {
            Taken::Drive(driver) => RunHandle::driving(*driver),
            Taken::Completed(status) => RunHandle {
                run_id: status.run_id.clone(),
                outcome: Outcome::Done(status),
            },
        })
    }

    /// Like [`start`](Self::start), and follows the run from its first
    /// event on (see [`RunBuilder::start_watched`]). A completed run's watch
    /// gives one update.
    #[tracing::instrument(skip_all, fields(run_id = %self.run_id))]
    pub async fn start_watched(self) -> Result<(RunHandle, RunWatch), WorkflowError> {
        let engine = self.engine;
        validate_run_id(&self.run_id)?;
        let events = engine.subscribe_progress(&self.run_id).await?;
        match self.take().await? {
            Taken::Drive(driver) => {
                let watch = engine.watch_driver(&driver, events);
                Ok((RunHandle::driving(*driver), watch))
            }
            Taken::Completed(status) => {
                drop(events);
                let watch = engine.watch(&status.run_id).await?;
                let handle = RunHandle {
                    run_id: status.run_id.clone(),
                    outcome: Outcome::Done(status),
                };
                Ok((handle, watch))
            }
        }
    }

    /// Takes the run over and drives it in the calling task; returns its
    /// final (or paused) status.
    #[tracing::instrument(skip_all, fields(run_id = %self.run_id))]
    pub async fn run_to_end(self) -> Result<RunStatus, WorkflowError> {
        match self.take().await? {
            Taken::Drive(driver) => driver.drive().await,
            Taken::Completed(status) => Ok(*status),
        }
    }

    async fn take(self) -> Result<Taken, WorkflowError> {
        let Self {
            engine,
            run_id,
            answer,
            settings: change,
            lease_wait,
        } = self;
        validate_run_id(&run_id)?;
        let ownership = take_waiting(engine, &run_id, lease_wait).await?;
        let budget = &engine.inner.config.backend_retry;
        let stored = match load(engine.inner.backend.as_ref(), budget, &run_id).await {
            Ok(stored) => stored,
            Err(e) => {
                ownership.release().await;
                return Err(e);
            }
        };
        let refuse = |state| WorkflowError::RunFinished {
            run_id: run_id.clone(),
            state,
        };
        match stored.run.state {
            RunState::Completed if answer.is_none() => {
                ownership.release().await;
                let status = stored.status(&run_id);
                return Ok(Taken::Completed(Box::new(status)));
            }
            state @ (RunState::Completed | RunState::Failed | RunState::Cancelled) => {
                ownership.release().await;
                return Err(refuse(state));
            }
            RunState::Running | RunState::WaitingForHuman | RunState::Paused => {}
        }
        // Runs recorded before settings were stored continue with the engine's.
        let before = stored.run.settings.unwrap_or(engine.config().run);
        let settings = change.map_or(before, |change| change(before));
        let recorded = (settings != before).then(|| SettingsChange {
            at: jiff::Timestamp::now(),
            by: engine.owner_id().to_owned(),
            before,
            after: settings,
        });
        let checked = settings.check().and_then(|()| {
            if settings.durability == before.durability {
                Ok(())
            } else {
                Err(WorkflowError::InvalidConfig {
                    field: "durability",
                    reason: "cannot change when a run is resumed".to_owned(),
                })
            }
        });
        if let Err(e) = checked {
            ownership.release().await;
            return Err(e);
        }
        let mut driver = Driver::resumed(
            &engine.inner,
            &run_id,
            stored,
            settings,
            recorded,
            ownership,
        );
        if let Some((step, answer)) = answer {
            let problem = match driver.index_of(step) {
                None => Some(WorkflowError::UnknownStep {
                    run_id: run_id.clone(),
                    step,
                }),
                Some(index) => match driver.state_of(index).unwrap_or_default() {
                    StepState::WaitingForHuman => {
                        driver.answer(index, answer);
                        None
                    }
                    state => Some(WorkflowError::NotWaitingForHuman {
                        run_id: run_id.clone(),
                        step,
                        state,
                    }),
                },
            };
            if let Some(problem) = problem {
                driver.abandon().await;
                return Err(problem);
            }
        }
        driver.announce_resumed();
        Ok(Taken::Drive(Box::new(driver)))
    }
}

/// Takes run `run_id` for `engine`, waiting up to `max` while another engine
/// holds its lease.
async fn take_waiting(
    engine: &Engine,
    run_id: &str,
    max: Duration,
) -> Result<Ownership, WorkflowError> {
    let deadline = Instant::now() + max;
    loop {
        match Ownership::take(&engine.inner, run_id, true).await {
            Err(WorkflowError::RunOwned {
                lease_lapses_in, ..
            }) if Instant::now() < deadline => {
                // Just after the lease lapses; not knowing when, soon.
                let lapse = lease_lapses_in.map_or(LEASE_POLL, |left| left + LEASE_MARGIN);
                let wake =
                    (Instant::now() + lapse.clamp(LEASE_MARGIN, LEASE_POLL * 10)).min(deadline);
                tracing::debug!(run_id, ?lease_lapses_in, "waiting for the run's lease");
                tokio::time::sleep_until(wake).await;
            }
            taken => return taken,
        }
    }
}

/// How often a resume waiting for a lease looks again when it does not
/// know when the lease lapses.
const LEASE_POLL: Duration = Duration::from_millis(100);
/// How long after the announced lapse a waiting resume tries again.
const LEASE_MARGIN: Duration = Duration::from_millis(10);

/// A run driven in the background, from [`RunBuilder::start`] or
/// [`ResumeBuilder::start`]. Dropping the handle does not stop the run;
/// [`Engine::cancel`] does.
#[derive(Debug)]
pub struct RunHandle {
    run_id: String,
    outcome: Outcome,
}

#[derive(Debug)]
enum Outcome {
    Driving(JoinHandle<Result<RunStatus, WorkflowError>>),
    /// The run was completed already.
    Done(Box<RunStatus>),
}

impl RunHandle {
    fn driving(driver: Driver) -> Self {
        Self {
            run_id: driver.run_id().to_owned(),
            outcome: Outcome::Driving(tokio::spawn(driver.drive())),
        }
    }

    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Waits until the run completes, fails, pauses or is cancelled, and
    /// returns its status.
    pub async fn wait(self) -> Result<RunStatus, WorkflowError> {
        match self.outcome {
            Outcome::Driving(task) => task.await.unwrap_or_else(|source| {
                Err(WorkflowError::DriverStopped {
                    run_id: self.run_id,
                    source,
                })
            }),
            Outcome::Done(status) => Ok(*status),
        }
    }
}
