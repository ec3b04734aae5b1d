//! [`Engine`]: start, drive, resume, cancel and inspect workflow runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use consort_protocol::StepNumber;
use consort_state::StateBackend;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::config::{Durability, EngineConfig};
use crate::driver::{Driver, Stored};
use crate::error::WorkflowError;
use crate::executor::{JsonMap, StepExecutor};
use crate::graph::{Plan, WorkflowGraph};
use crate::ownership::{ActiveRuns, Ownership, Signal, raise};
use crate::records::{
    RunRecord, SpecRecord, StepRecord, assemble, cancel_key, decode, run_key, spec_key, step_keys,
    validate_run_id,
};
use crate::status::{RunState, RunStatus, StepState};

pub(crate) struct Inner {
    pub(crate) backend: Arc<dyn StateBackend>,
    pub(crate) executor: Arc<dyn StepExecutor>,
    pub(crate) config: EngineConfig,
    /// The lease holder id: the configured one or a unique one.
    pub(crate) owner: String,
    pub(crate) active: ActiveRuns,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.backend)
            .field("owner", &self.owner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Runs workflows: orders steps by their dependencies, runs independent steps
/// concurrently, retries, times out, checkpoints every step transition in the
/// state backend and resumes runs left by dead processes.
///
/// Cheap to clone (one `Arc`). Two engines never drive one run at once: a run
/// is owned through the lease `wf:lease:{run_id}` (renewed while driving) and
/// every checkpoint is a batch guarded by that lease, so an engine that lost
/// its lease cannot write any more.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// A run started in the background by [`Engine::start`].
#[derive(Debug)]
pub struct RunHandle {
    run_id: String,
    task: JoinHandle<Result<RunStatus, WorkflowError>>,
}

impl RunHandle {
    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Waits until the run completes, fails, pauses for a human or is
    /// cancelled, and returns its status.
    pub async fn wait(self) -> Result<RunStatus, WorkflowError> {
        let run_id = self.run_id;
        self.task.await.unwrap_or_else(|e| {
            Err(WorkflowError::DriverStopped {
                run_id,
                detail: e.to_string(),
            })
        })
    }
}

impl Engine {
    /// An engine over `backend` calling `executor` for every step.
    pub fn new(
        backend: Arc<dyn StateBackend>,
        executor: Arc<dyn StepExecutor>,
        config: EngineConfig,
    ) -> Result<Self, WorkflowError> {
        config.check()?;
        let owner = config
            .owner_id
            .clone()
            .unwrap_or_else(|| format!("engine-{}-{:016x}", std::process::id(), fastrand::u64(..)));
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                executor,
                config,
                owner,
                active: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The id this engine holds run leases under.
    pub fn owner_id(&self) -> &str {
        &self.inner.owner
    }

    /// The state backend it checkpoints to.
    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.inner.backend
    }

    /// Records a new run of `workflow` (id `run_id`, or a fresh UUIDv7) and
    /// drives it on a spawned task. Fails with [`WorkflowError::RunExists`] if the id
    /// is taken.
    ///
    /// The graph is validated once, when it is built, and shared by every run
    /// of it: build it once per workflow definition, not once per run.
    #[tracing::instrument(skip_all, fields(workflow = %workflow.name()))]
    pub async fn start(
        &self,
        workflow: &WorkflowGraph,
        params: JsonMap,
        run_id: Option<String>,
    ) -> Result<RunHandle, WorkflowError> {
        let driver = self.begin(workflow, params, run_id).await?;
        let run_id = driver.run_id().to_owned();
        Ok(RunHandle {
            run_id,
            task: tokio::spawn(driver.drive()),
        })
    }

    /// Like [`start`](Self::start), but drives the run in the calling task and
    /// returns its final (or paused) status.
    #[tracing::instrument(skip_all, fields(workflow = %workflow.name()))]
    pub async fn run_to_end(
        &self,
        workflow: &WorkflowGraph,
        params: JsonMap,
        run_id: Option<String>,
    ) -> Result<RunStatus, WorkflowError> {
        self.begin(workflow, params, run_id).await?.drive().await
    }

    async fn begin(
        &self,
        workflow: &WorkflowGraph,
        params: JsonMap,
        run_id: Option<String>,
    ) -> Result<Driver, WorkflowError> {
        let run_id = run_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        validate_run_id(&run_id)?;
        let ownership = Ownership::take(&self.inner, &run_id).await?;
        let plan = Arc::clone(workflow.plan());
        let mut driver = Driver::new_run(&self.inner, &run_id, plan, params, ownership);
        driver.begin(workflow).await?;
        Ok(driver)
    }

    /// Continues a run left by a process that died (or paused for a human):
    /// completed steps never run again; a step that was in flight runs again
    /// with its next attempt number. Returns the final (or paused) status; a
    /// completed run's status is returned as it is.
    ///
    /// Fails with [`WorkflowError::RunOwned`] while another engine drives the run
    /// (including one that died less than `lease_ttl` ago), and with
    /// [`WorkflowError::RunFinished`] for failed and cancelled runs.
    #[tracing::instrument(skip(self))]
    pub async fn resume(&self, run_id: &str) -> Result<RunStatus, WorkflowError> {
        let Some(driver) = self.take_stored(run_id).await? else {
            return self.status(run_id).await;
        };
        driver.drive().await
    }

    /// Answers the question of step `step`, which waits for a human, and
    /// resumes the run (like [`resume`](Self::resume)).
    ///
    /// The step runs again with its next attempt number and the answer in
    /// its inputs under `"human_answer"` (its question under
    /// `"human_question"`); the executor turns it into outputs. The answer is
    /// stored with the step until it completes, so a crash does not lose it.
    #[tracing::instrument(skip(self, answer))]
    pub async fn answer_human(
        &self,
        run_id: &str,
        step: StepNumber,
        answer: Value,
    ) -> Result<RunStatus, WorkflowError> {
        let Some(mut driver) = self.take_stored(run_id).await? else {
            return Err(WorkflowError::RunFinished {
                run_id: run_id.to_owned(),
                state: RunState::Completed,
            });
        };
        let Some(index) = driver.index_of(step) else {
            driver.abandon().await;
            return Err(WorkflowError::UnknownStep {
                run_id: run_id.to_owned(),
                step,
            });
        };
        match driver.state_of(index) {
            Some(StepState::WaitingForHuman) => driver.answer(index, answer),
            state => {
                let state = state.unwrap_or_default();
                driver.abandon().await;
                return Err(WorkflowError::NotWaitingForHuman {
                    run_id: run_id.to_owned(),
                    step,
                    state,
                });
            }
        }
        driver.drive().await
    }

    /// Takes a stored run over for driving; `None` for a completed run.
    async fn take_stored(&self, run_id: &str) -> Result<Option<Driver>, WorkflowError> {
        validate_run_id(run_id)?;
        if self.inner.config.durability == Durability::None {
            return Err(WorkflowError::RunNotFound {
                run_id: run_id.to_owned(),
            });
        }
        let ownership = Ownership::take(&self.inner, run_id).await?;
        let stored = match self.load(run_id).await {
            Ok(stored) => stored,
            Err(e) => {
                ownership.release().await;
                return Err(e);
            }
        };
        match stored.run.state {
            RunState::Completed => {
                ownership.release().await;
                Ok(None)
            }
            state @ (RunState::Failed | RunState::Cancelled) => {
                ownership.release().await;
                Err(WorkflowError::RunFinished {
                    run_id: run_id.to_owned(),
                    state,
                })
            }
            RunState::Running | RunState::WaitingForHuman => Ok(Some(Driver::resumed(
                &self.inner,
                run_id,
                stored,
                ownership,
            ))),
        }
    }

    /// Cancels a run: one driven by this engine stops at once; one driven by
    /// another engine stops at that engine's next lease renewal (within a
    /// third of its lease TTL); one nobody drives (paused, or left by a dead
    /// process) is marked cancelled here. Steps in flight become `cancelled`,
    /// steps not started `skipped`.
    #[tracing::instrument(skip(self))]
    pub async fn cancel(&self, run_id: &str) -> Result<(), WorkflowError> {
        validate_run_id(run_id)?;
        let local = self
            .inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(run_id)
            .cloned();
        if let Some(sender) = local {
            raise(&sender, Signal::Cancel);
            return Ok(());
        }
        let run = self.run_record(run_id).await?;
        if run.state.is_finished() {
            return Err(WorkflowError::RunFinished {
                run_id: run_id.to_owned(),
                state: run.state,
            });
        }
        self.inner
            .backend
            .set(&cancel_key(run_id), "cancel".into(), None)
            .await
            .map_err(|source| WorkflowError::State {
                run_id: run_id.to_owned(),
                action: "requesting cancellation".to_owned(),
                source,
            })?;
        match self.take_stored(run_id).await {
            // The stored cancel request makes the driver stop at once.
            Ok(Some(driver)) => driver.drive().await.map(drop),
            Ok(None) | Err(WorkflowError::RunOwned { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The run's progress as recorded in the backend.
    #[tracing::instrument(skip(self))]
    pub async fn status(&self, run_id: &str) -> Result<RunStatus, WorkflowError> {
        validate_run_id(run_id)?;
        let stored = self.load(run_id).await?;
        Ok(assemble(
            run_id,
            &stored.graph,
            stored.run.state,
            stored.run.error,
            stored.steps,
        ))
    }

    fn state_error(
        run_id: &str,
        action: &str,
    ) -> impl FnOnce(consort_state::StateError) -> WorkflowError {
        let run_id = run_id.to_owned();
        let action = action.to_owned();
        move |source| WorkflowError::State {
            run_id,
            action,
            source,
        }
    }

    async fn run_record(&self, run_id: &str) -> Result<RunRecord, WorkflowError> {
        let key = run_key(run_id);
        let stored = self
            .inner
            .backend
            .get(&key)
            .await
            .map_err(Self::state_error(run_id, "reading the run record"))?
            .ok_or_else(|| WorkflowError::RunNotFound {
                run_id: run_id.to_owned(),
            })?;
        decode(run_id, &key, &stored.value)
    }

    async fn load(&self, run_id: &str) -> Result<Stored, WorkflowError> {
        let backend = &self.inner.backend;
        let keys = [run_key(run_id), spec_key(run_id), cancel_key(run_id)];
        let mut found = backend
            .get_many(&keys)
            .await
            .map_err(Self::state_error(run_id, "reading the run"))?
            .into_iter();
        let (Some(Some(run)), Some(spec), Some(cancel)) =
            (found.next(), found.next(), found.next())
        else {
            return Err(WorkflowError::RunNotFound {
                run_id: run_id.to_owned(),
            });
        };
        let [run_key, spec_key, _] = &keys;
        let run: RunRecord = decode(run_id, run_key, &run.value)?;
        let spec: SpecRecord = match spec {
            Some(spec) => decode(run_id, spec_key, &spec.value)?,
            None => {
                return Err(WorkflowError::Corrupt {
                    run_id: run_id.to_owned(),
                    key: spec_key.clone(),
                    detail: "the run record exists but its definition is missing".to_owned(),
                });
            }
        };
        let graph = Plan::build(&spec.spec, None).map_err(|e| WorkflowError::Corrupt {
            run_id: run_id.to_owned(),
            key: spec_key.clone(),
            detail: e.to_string(),
        })?;
        let step_keys = step_keys(run_id, &graph);
        let values = backend
            .get_many(&step_keys)
            .await
            .map_err(Self::state_error(run_id, "reading the step records"))?;
        let steps = step_keys
            .iter()
            .zip(values)
            .map(|(key, value)| match value {
                Some(v) => decode::<StepRecord>(run_id, key, &v.value),
                None => Ok(StepRecord::default()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Stored {
            run,
            spec,
            graph: Arc::new(graph),
            steps,
            cancel_requested: cancel.is_some(),
        })
    }
}
