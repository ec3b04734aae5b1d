//! [`Engine`]: start, drive, resume, cancel and inspect workflow runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use consort_protocol::StepNumber;
use consort_state::StateBackend;
use consort_state::retry::retry_transient;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::EngineConfig;
use crate::error::WorkflowError;
use crate::executor::JsonMap;
use crate::executor::StepExecutor;
use crate::graph::WorkflowGraph;
use crate::ownership::{ActiveRuns, Signal, raise};
use crate::records::{cancel_key, lease_name, spec_record, validate_run_id};
use crate::run_builder::{ResumeBuilder, RunBuilder};
use crate::status::{RunOwner, RunStatus};
use crate::stored::{load, run_record};

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
///
/// ```
/// use std::sync::Arc;
/// use consort_protocol::{load_workflow, seeds};
/// use consort_state::MemoryBackend;
/// use consort_workflow::{Engine, EngineConfig, RunState, SimulatedExecutor, WorkflowGraph};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let graph = WorkflowGraph::build(&load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?)?;
/// let engine = Engine::new(
///     Arc::new(MemoryBackend::new("docs")?),
///     Arc::new(SimulatedExecutor::new()),
///     EngineConfig::default(),
/// )?;
/// // In the background; any engine on the same backend can wait for it.
/// let handle = engine.new_run(&graph).with_run_id("campaign-7").start().await?;
/// let status = engine.wait("campaign-7").await?;
/// assert_eq!(status.state, RunState::Completed);
/// assert_eq!(handle.wait().await?.state, RunState::Completed);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
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

    /// A new run of `workflow`, to be set up and then started with
    /// [`RunBuilder::start`] (in the background) or
    /// [`RunBuilder::run_to_end`] (in the calling task).
    ///
    /// The graph is validated once, when it is built, and shared by every run
    /// of it: build it once per workflow definition, not once per run.
    pub fn new_run<'a>(&'a self, workflow: &'a WorkflowGraph) -> RunBuilder<'a> {
        RunBuilder::new(self, workflow)
    }

    /// Checks what validating a definition cannot know without the backend:
    /// that `workflow` fits in one of its values, where a run stores it.
    /// Fails with [`WorkflowError::DefinitionTooLarge`]. Starting a run checks
    /// it too (with the run's parameters), before anything is written.
    pub fn check_definition(&self, workflow: &WorkflowGraph) -> Result<(), WorkflowError> {
        let record = spec_record("check", workflow, &JsonMap::new())?;
        self.check_size(workflow, record.len())
    }

    /// Fails when a spec record of `size` bytes does not fit in the backend.
    pub(crate) fn check_size(
        &self,
        workflow: &WorkflowGraph,
        size: usize,
    ) -> Result<(), WorkflowError> {
        let limit = self.inner.backend.capabilities().max_value_bytes;
        if size > limit {
            return Err(WorkflowError::DefinitionTooLarge {
                workflow: workflow.name().to_owned(),
                size,
                limit,
            });
        }
        Ok(())
    }

    /// Continues run `run_id`, left by a process that died or paused for a
    /// human, once [`ResumeBuilder::run_to_end`] or [`ResumeBuilder::start`]
    /// is called: completed steps never run again; a step that was in flight
    /// runs again with its next attempt number.
    pub fn resume(&self, run_id: impl Into<String>) -> ResumeBuilder<'_> {
        ResumeBuilder::new(self, run_id.into())
    }

    /// Answers the question of step `step`, which waits for a human, and
    /// drives the run on; short for
    /// `resume(run_id).with_human_answer(step, answer).run_to_end()`.
    pub async fn answer_human(
        &self,
        run_id: &str,
        step: StepNumber,
        answer: Value,
    ) -> Result<RunStatus, WorkflowError> {
        self.resume(run_id)
            .with_human_answer(step, answer)
            .run_to_end()
            .await
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
        let budget = &self.inner.config.backend_retry;
        let run = run_record(self.inner.backend.as_ref(), budget, run_id).await?;
        if run.state.is_finished() {
            return Err(WorkflowError::RunFinished {
                run_id: run_id.to_owned(),
                state: run.state,
            });
        }
        let backend = &self.inner.backend;
        let key = cancel_key(run_id);
        retry_transient(budget, || backend.set(&key, "cancel".into(), None))
            .await
            .map_err(WorkflowError::state(run_id, "requesting cancellation"))?;
        // The stored cancel request makes the driver stop at once.
        match self.resume(run_id).run_to_end().await {
            Ok(_) | Err(WorkflowError::RunOwned { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Pauses run `run_id` if this engine drives it: it starts no new step,
    /// lets the attempts in flight settle for up to `grace` and abandons the
    /// rest (their steps stay `running` and run again, with their next
    /// attempt number, on resume), checkpoints, releases its lease and ends
    /// [`RunState::Paused`](crate::RunState::Paused), so that any engine may
    /// resume it at once. Returns false when this engine does not drive the
    /// run.
    pub fn pause(&self, run_id: &str, grace: Duration) -> bool {
        let signal = Signal::Pause {
            abandon_at: Instant::now() + grace,
        };
        let active = self
            .inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        active
            .get(run_id)
            .map(|sender| raise(sender, signal))
            .is_some()
    }

    /// Pauses every run this engine drives, as [`pause`](Self::pause) does
    /// (a service shutting down on SIGTERM); returns how many. Their
    /// drivers return (with `Paused`) once they have settled.
    pub fn pause_all(&self, grace: Duration) -> usize {
        let signal = Signal::Pause {
            abandon_at: Instant::now() + grace,
        };
        let active = self
            .inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for sender in active.values() {
            raise(sender, signal);
        }
        active.len()
    }

    /// How many runs this engine drives right now (a service shutting down
    /// waits for this to reach zero after [`pause_all`](Self::pause_all)).
    pub fn driving(&self) -> usize {
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The run's progress as recorded in the backend, with the engine that
    /// drives it now ([`RunStatus::owner`], from the run's lease).
    #[tracing::instrument(skip(self))]
    pub async fn status(&self, run_id: &str) -> Result<RunStatus, WorkflowError> {
        validate_run_id(run_id)?;
        let backend = self.inner.backend.as_ref();
        let budget = &self.inner.config.backend_retry;
        let stored = load(backend, budget, run_id).await?;
        let name = lease_name(run_id);
        let lease = retry_transient(budget, || backend.current_lease(&name))
            .await
            .map_err(WorkflowError::state(run_id, "reading the run's lease"))?;
        let mut status = stored.status(run_id);
        status.owner = lease.map(|lease| RunOwner {
            holder: lease.holder,
            lease_lapses_in: lease.ttl,
        });
        Ok(status)
    }
}
