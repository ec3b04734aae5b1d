//! [`LiveView`]: the router and the conflict resolver over the registry's
//! current experts, rebuilt when profiles change and updated in place when
//! only an expert's availability or load changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use consort_conflict::{ConflictResolver, Policy};
use consort_protocol::{Availability, ExpertId, ExpertProfile};
use consort_registry::ExpertRegistry;
use consort_router::{
    Correction, RouteContext, RouteDecision, RouteRequest, Router, RouterConfig, Signal,
};
use tokio::sync::Mutex;

use crate::corrections;
use crate::error::{CoordinatorError, Result};

/// An extra routing signal shared by every router the view builds.
#[derive(Clone)]
pub(crate) struct SharedSignal {
    pub(crate) signal: Arc<dyn Signal>,
    pub(crate) weight: f64,
}

impl std::fmt::Debug for SharedSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSignal")
            .field("name", &self.signal.name())
            .field("weight", &self.weight)
            .finish()
    }
}

/// Lets one `Arc<dyn Signal>` be handed to each rebuilt router.
struct SignalRef(Arc<dyn Signal>);

impl Signal for SignalRef {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn score(&self, request: &RouteRequest, expert: &ExpertProfile) -> f64 {
        self.0.score(request, expert)
    }
}

/// What the view was built from, and when.
struct Built {
    /// The value of [`LiveView::changes`] the snapshot was taken after.
    generation: u64,
    router: Router,
    resolver: Arc<ConflictResolver>,
    /// Numbers the status updates below.
    status_seq: u64,
    /// Status updates applied in place, by expert, with their number: a
    /// rebuild whose snapshot may predate one applies it again, so a rebuild
    /// racing with an update never undoes it.
    recent: HashMap<ExpertId, (u64, Availability, Option<u32>)>,
}

impl Built {
    fn apply(&mut self, expert: &str, availability: Availability, load: Option<u32>) -> bool {
        let load = load.or_else(|| self.router.status(expert).map(|(_, load)| load));
        load.is_some_and(|load| self.router.set_status(expert, availability, load).is_ok())
    }
}

/// The coordinator's routing and conflict state.
///
/// Profile changes (registration, update, removal) only bump a counter; the
/// next operation that needs the view, or the follower task, rebuilds it once
/// from a fresh snapshot, however many changes came in between. So
/// registering 10,000 experts costs one rebuild, not 10,000, and a request
/// routed after `register` returns always sees the new expert.
pub(crate) struct LiveView {
    router_config: RouterConfig,
    policy: Policy,
    signals: Vec<SharedSignal>,
    built: RwLock<Built>,
    /// Profile changes seen so far (local writes and registry events).
    changes: AtomicU64,
    /// One rebuild at a time; the others wait and then find it done.
    rebuilding: Mutex<()>,
}

impl std::fmt::Debug for LiveView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveView")
            .field("router_config", &self.router_config)
            .field("signals", &self.signals)
            .field("changes", &self.changes)
            .finish_non_exhaustive()
    }
}

impl LiveView {
    /// Builds the view over the registry's experts as they are now.
    pub(crate) async fn load(
        registry: &ExpertRegistry,
        router_config: RouterConfig,
        policy: Policy,
        signals: Vec<SharedSignal>,
    ) -> Result<Self> {
        let profiles = registry.snapshot().await?;
        let corrections = corrections::load(registry.backend().as_ref()).await?;
        let router = build_router(&profiles, &router_config, &signals, &corrections)?;
        let resolver = Arc::new(ConflictResolver::new(&profiles, policy.clone())?);
        Ok(Self {
            router_config,
            policy,
            signals,
            built: RwLock::new(Built {
                generation: 0,
                router,
                resolver,
                status_seq: 0,
                recent: HashMap::new(),
            }),
            changes: AtomicU64::new(0),
            rebuilding: Mutex::new(()),
        })
    }

    /// Checks that a route context names only known experts.
    pub(crate) fn check_context(&self, context: &RouteContext) -> Result<()> {
        Ok(self.read(|built| built.router.check_context(context))?)
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Records that profiles changed; the next use rebuilds.
    pub(crate) fn invalidate(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether a rebuild is due.
    pub(crate) fn is_stale(&self) -> bool {
        self.read(|built| built.generation) < self.changes.load(Ordering::Acquire)
    }

    /// Rebuilds from a registry snapshot if any profile changed since the
    /// last build.
    pub(crate) async fn ensure_current(&self, registry: &ExpertRegistry) -> Result<()> {
        if !self.is_stale() {
            return Ok(());
        }
        let _single = self.rebuilding.lock().await;
        // Whatever changed before this read is in the snapshot below.
        let generation = self.changes.load(Ordering::Acquire);
        if self.read(|built| built.generation) >= generation {
            return Ok(());
        }
        // Status updates numbered after this may be missing from the snapshot.
        let seen = self.read(|built| built.status_seq);
        let profiles = registry.snapshot().await?;
        let corrections = corrections::load(registry.backend().as_ref()).await?;
        // Milliseconds for a few experts, a fifth of a second for 10,000:
        // off the runtime's threads, so that a server on a current-thread
        // runtime (`consort serve --stdio`) keeps answering meanwhile.
        let (config, signals, policy) = (
            self.router_config.clone(),
            self.signals.clone(),
            self.policy.clone(),
        );
        let experts = profiles.len();
        let (router, resolver) = match tokio::task::spawn_blocking(move || {
            let router = build_router(&profiles, &config, &signals, &corrections)?;
            let resolver = Arc::new(ConflictResolver::new(&profiles, policy)?);
            Ok::<_, CoordinatorError>((router, resolver))
        })
        .await
        {
            Ok(built) => built?,
            // The build's own panic, as it would have been without the
            // hand-off.
            Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
            Err(_) => return Err(CoordinatorError::ShutDown),
        };
        let mut built = self.built.write().unwrap_or_else(PoisonError::into_inner);
        let mut recent = std::mem::take(&mut built.recent);
        recent.retain(|_, (seq, ..)| *seq > seen);
        let status_seq = built.status_seq;
        *built = Built {
            generation,
            router,
            resolver,
            status_seq,
            recent: HashMap::new(),
        };
        for (expert, (_, availability, load)) in &recent {
            built.apply(expert, *availability, *load);
        }
        built.recent = recent;
        tracing::debug!(experts, generation, "rebuilt the routing view");
        Ok(())
    }

    /// Routes with the current view.
    pub(crate) fn route(&self, request: &RouteRequest) -> RouteDecision {
        self.read(|built| built.router.route(request))
    }

    /// The resolver over the current experts.
    pub(crate) fn resolver(&self) -> Arc<ConflictResolver> {
        self.read(|built| Arc::clone(&built.resolver))
    }

    /// The profiles routing uses now, with their live status.
    pub(crate) fn profiles(&self) -> Vec<ExpertProfile> {
        self.read(|built| built.router.profiles().cloned().collect())
    }

    /// Applies an expert's live availability and load without a rebuild.
    /// An expert the view does not know yet means profiles changed.
    pub(crate) fn set_status(&self, expert: &str, availability: Availability, load: Option<u32>) {
        let mut built = self.built.write().unwrap_or_else(PoisonError::into_inner);
        built.status_seq += 1;
        let seq = built.status_seq;
        built
            .recent
            .insert(ExpertId::from(expert), (seq, availability, load));
        let applied = built.apply(expert, availability, load);
        drop(built);
        if !applied {
            self.invalidate();
        }
    }

    /// Brings the view in line with a fresh registry snapshot: statuses are
    /// applied in place (except those updated since the snapshot began); any
    /// other difference (an expert added, removed or changed) marks the view
    /// stale.
    pub(crate) async fn refresh(&self, registry: &ExpertRegistry) -> Result<()> {
        let seen = self.read(|built| built.status_seq);
        let snapshot = registry.snapshot().await?;
        let mut built = self.built.write().unwrap_or_else(PoisonError::into_inner);
        let same_experts = built.router.profiles().len() == snapshot.len()
            && built
                .router
                .profiles()
                .zip(&snapshot)
                .all(|(known, fresh)| same_but_status(known, fresh));
        if !same_experts {
            drop(built);
            self.invalidate();
            return Ok(());
        }
        built.recent.retain(|_, (seq, ..)| *seq > seen);
        for fresh in &snapshot {
            let live = (fresh.availability_status, fresh.current_load);
            if !built.recent.contains_key(&fresh.id) && built.router.status(&fresh.id) != Some(live)
            {
                built.apply(&fresh.id, live.0, Some(live.1));
            }
        }
        Ok(())
    }

    /// The availability and load routing uses for `expert` now.
    pub(crate) fn status(&self, expert: &str) -> Option<(Availability, u32)> {
        self.read(|built| built.router.status(expert))
    }

    fn read<T>(&self, f: impl FnOnce(&Built) -> T) -> T {
        f(&self.built.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Whether two profiles differ in nothing but their live status.
fn same_but_status(a: &ExpertProfile, b: &ExpertProfile) -> bool {
    let mut b = b.clone();
    b.availability_status = a.availability_status;
    b.current_load = a.current_load;
    *a == b
}

/// A router over `profiles` with the extra signals, that has learned the
/// corrections log in order (the replay contract of `Router::learn`).
fn build_router(
    profiles: &[ExpertProfile],
    config: &RouterConfig,
    signals: &[SharedSignal],
    corrections: &[Correction],
) -> Result<Router> {
    let mut router = Router::new(profiles, config.clone())?;
    for shared in signals {
        router = router.with_signal(SignalRef(Arc::clone(&shared.signal)), shared.weight)?;
    }
    for correction in corrections {
        // An expert that has left: what was taught about it no longer applies.
        if let Err(error) = router.learn(correction) {
            tracing::debug!(%error, "skipping a correction for an expert not registered");
        }
    }
    Ok(router)
}
