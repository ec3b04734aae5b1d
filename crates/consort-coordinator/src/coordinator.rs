//! [`Coordinator`]: the handle, and what its clones share.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use consort_registry::{ExpertRegistry, Sweeper};
use consort_state::StateBackend;
use consort_workflow::{Engine, WorkflowGraph};
use tokio::task::JoinHandle;

use crate::builder::CoordinatorBuilder;
use crate::live::LiveView;

/// What every clone of a coordinator, and its follower task, share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) backend: Arc<dyn StateBackend>,
    pub(crate) registry: ExpertRegistry,
    pub(crate) view: LiveView,
    pub(crate) engine: Engine,
    /// Workflow definitions added by name, validated once.
    pub(crate) workflows: RwLock<BTreeMap<String, Arc<WorkflowGraph>>>,
    pub(crate) verify_liveness: bool,
}

/// Owns the background tasks; dropped with the last clone.
#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    follower: JoinHandle<()>,
    _sweeper: Option<Sweeper>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// The coordination server of the spec (`MCPCoordinationServer`), in Rust:
/// one object over one state backend that keeps the expert registry, routes
/// requests with the registry's live state, resolves conflicts between
/// experts' recommendations, and runs durable collaboration workflows.
///
/// Cheap to clone (one `Arc`); clones share everything. Coordinators in
/// several processes over one shared backend (Redis, same namespace) see the
/// same experts and runs: a run started through one can be inspected,
/// answered or resumed through another.
///
/// Routing follows the registry without a rebuild per request: registry
/// events update an expert's availability in place; profile changes mark
/// the routing view stale, and the next request (or the background follower)
/// rebuilds it once. An expert that is offline, or whose heartbeat lapsed, is
/// never chosen; busy and loaded experts are penalised.
///
/// ```
/// use std::sync::Arc;
/// use consort_coordinator::Coordinator;
/// use consort_protocol::{load_registry, seeds};
/// use consort_router::RouteRequest;
/// use consort_state::MemoryBackend;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let coordinator = Coordinator::builder(Arc::new(MemoryBackend::new("demo")?)).build().await?;
/// for expert in load_registry(seeds::EXPERT_REGISTRY)? {
///     coordinator.register_expert(&expert).await?;
/// }
///
/// let request = RouteRequest::new("Plan a campaign and check the budget with finance");
/// let decision = coordinator.route(&request).await?;
/// assert!(decision.experts().any(|e| e == "finance_accountant"));
///
/// // Offline experts are never chosen.
/// coordinator.set_availability("finance_accountant", consort_protocol::Availability::Offline).await?;
/// let decision = coordinator.route(&request).await?;
/// assert!(!decision.experts().any(|e| e == "finance_accountant"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Coordinator {
    inner: Arc<Inner>,
}

impl Coordinator {
    /// Starts building a coordinator over `backend`.
    pub fn builder(backend: Arc<dyn StateBackend>) -> CoordinatorBuilder {
        CoordinatorBuilder::new(backend)
    }

    pub(crate) fn new(
        shared: Arc<Shared>,
        follower: JoinHandle<()>,
        sweeper: Option<Sweeper>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared,
                follower,
                _sweeper: sweeper,
            }),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The state backend everything is stored in.
    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.shared().backend
    }

    /// The expert registry, for what the coordinator does not wrap (load
    /// slots, the change stream, sweeps).
    pub fn registry(&self) -> &ExpertRegistry {
        &self.shared().registry
    }

    /// The workflow engine, for what the coordinator does not wrap.
    pub fn engine(&self) -> &Engine {
        &self.shared().engine
    }
}
