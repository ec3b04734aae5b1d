//! [`CoordinatorBuilder`]: every part's settings, gathered before the
//! coordinator starts.

use std::sync::Arc;
use std::time::Duration;

use consort_conflict::Policy;
use consort_registry::{ExpertRegistry, RegistryConfig};
use consort_router::{RouterConfig, Signal};
use consort_state::StateBackend;
use consort_workflow::{Engine, EngineConfig, SimulatedExecutor, StepExecutor};

use crate::coordinator::{Coordinator, Shared};
use crate::corrections;
use crate::error::{CoordinatorError, Result};
use crate::follow::{self, Feeds};
use crate::live::{LiveView, SharedSignal};

/// Builds a [`Coordinator`]. Every setting has a default; see each setter.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use consort_coordinator::Coordinator;
/// use consort_state::MemoryBackend;
/// use consort_workflow::SimulatedExecutor;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let coordinator = Coordinator::builder(Arc::new(MemoryBackend::new("demo")?))
///     .with_executor(Arc::new(SimulatedExecutor::new()))
///     .with_status_refresh(Duration::from_secs(2))
///     .build()
///     .await?;
/// assert!(coordinator.available_experts().await?.is_empty());
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct CoordinatorBuilder {
    backend: Arc<dyn StateBackend>,
    registry: RegistryConfig,
    router: RouterConfig,
    signals: Vec<SharedSignal>,
    policy: Policy,
    engine: EngineConfig,
    executor: Option<Arc<dyn StepExecutor>>,
    status_refresh: Duration,
    sweeper: bool,
    verify_liveness: bool,
}

impl std::fmt::Debug for CoordinatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinatorBuilder")
            .field("backend", &self.backend)
            .field("registry", &self.registry)
            .field("router", &self.router)
            .field("signals", &self.signals)
            .field("policy", &self.policy)
            .field("engine", &self.engine)
            .field(
                "executor",
                &self.executor.as_ref().map(|_| "dyn StepExecutor"),
            )
            .field("status_refresh", &self.status_refresh)
            .field("sweeper", &self.sweeper)
            .field("verify_liveness", &self.verify_liveness)
            .finish()
    }
}

impl CoordinatorBuilder {
    pub(crate) fn new(backend: Arc<dyn StateBackend>) -> Self {
        Self {
            backend,
            registry: RegistryConfig::default(),
            router: RouterConfig::default(),
            signals: Vec::new(),
            policy: Policy::default(),
            engine: EngineConfig::default(),
            executor: None,
            status_refresh: Duration::from_secs(5),
            sweeper: true,
            verify_liveness: true,
        }
    }

    /// Heartbeat TTL, sweep interval and event source of the registry.
    pub fn with_registry_config(mut self, config: RegistryConfig) -> Self {
        self.registry = config;
        self
    }

    /// Weights, thresholds and fallback of the router.
    pub fn with_router_config(mut self, config: RouterConfig) -> Self {
        self.router = config;
        self
    }

    /// Adds an extra routing signal (an embedding similarity, say) with its
    /// weight; it is kept across every rebuild of the router.
    pub fn with_signal(mut self, signal: Arc<dyn Signal>, weight: f64) -> Self {
        self.signals.push(SharedSignal { signal, weight });
        self
    }

    /// Authority table, margins and priority factors of conflict
    /// resolution.
    pub fn with_conflict_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Concurrency, retries, timeouts and durability of workflow runs.
    pub fn with_engine_config(mut self, config: EngineConfig) -> Self {
        self.engine = config;
        self
    }

    /// How workflow steps reach experts (default: a
    /// [`SimulatedExecutor`], which calls nobody and makes up the outputs).
    pub fn with_executor(mut self, executor: Arc<dyn StepExecutor>) -> Self {
        self.executor = Some(executor);
        self
    }

    /// How often the coordinator re-reads every expert's availability and
    /// load (default 5 s). Registry events update routing at once; this
    /// catches load changes, which publish no event, and any event pub/sub
    /// dropped.
    pub fn with_status_refresh(mut self, interval: Duration) -> Self {
        self.status_refresh = interval;
        self
    }

    /// Whether the coordinator runs the registry's sweeper, which announces
    /// lapsed heartbeats to every process (default true). Turn it off when
    /// another process on the same backend runs one.
    pub fn with_sweeper(mut self, run: bool) -> Self {
        self.sweeper = run;
        self
    }

    /// Whether routing checks, in one backend call, that the experts it
    /// names still have a current heartbeat, and routes again without those
    /// that do not (default true). Without it an expert whose heartbeat
    /// lapsed can be chosen until the lapse is announced.
    pub fn with_liveness_check(mut self, verify: bool) -> Self {
        self.verify_liveness = verify;
        self
    }

    /// Starts the coordinator: creates the engine, starts following the
    /// registry (and its sweeper, unless turned off) on the current tokio
    /// runtime, and builds the routing view from the registry as it is.
    pub async fn build(self) -> Result<Coordinator> {
        let tokio =
            tokio::runtime::Handle::try_current().map_err(|_| CoordinatorError::NoRuntime)?;
        let registry = ExpertRegistry::new(Arc::clone(&self.backend), self.registry);
        let executor = self
            .executor
            .unwrap_or_else(|| Arc::new(SimulatedExecutor::new()));
        let engine = Engine::new(Arc::clone(&self.backend), executor, self.engine)?;
        // Watch first, then read the registry: a change between the two is
        // seen twice, never missed.
        let watch = registry.watch().await?;
        let corrections = self.backend.subscribe(corrections::TOPIC).await?;
        let view = LiveView::load(&registry, self.router, self.policy, self.signals).await?;
        let shared = Arc::new(Shared {
            backend: self.backend,
            registry,
            view,
            engine,
            workflows: std::sync::RwLock::default(),
            verify_liveness: self.verify_liveness,
        });
        let sweeper = if self.sweeper {
            Some(shared.registry.spawn_sweeper()?)
        } else {
            None
        };
        let feeds = Feeds {
            registry: Some(watch),
            corrections: Some(corrections),
        };
        let follower = tokio.spawn(follow::follow(
            Arc::downgrade(&shared),
            feeds,
            self.status_refresh,
        ));
        Ok(Coordinator::new(shared, follower, sweeper))
    }
}
