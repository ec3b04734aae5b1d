//! Routing with the registry's live state: the spec's `routeToExpert`.

use std::borrow::Cow;

use consort_protocol::{Availability, ExpertId};
use consort_registry::RegistryError;
use consort_router::{Correction, RouteDecision, RouteRequest};
use tracing::instrument;

use crate::coordinator::Coordinator;
use crate::corrections;
use crate::error::{CoordinatorError, Result};

impl Coordinator {
    /// Picks the expert (and collaborators) for `request`, with the
    /// per-signal breakdown of every candidate. A context that names experts
    /// the registry does not have is an error naming the field and the id.
    ///
    /// Uses the registry as it is now: offline experts are never chosen;
    /// busy and loaded experts are penalised. Unless turned off with
    /// [`with_liveness_check`](crate::CoordinatorBuilder::with_liveness_check),
    /// the experts the decision names are checked for a current heartbeat in
    /// one backend call; any whose heartbeat lapsed are marked offline (for
    /// every later request too, until they heartbeat again) and the request
    /// is routed again without them.
    #[instrument(skip_all, fields(words = request.text.split_whitespace().count()))]
    pub async fn route(&self, request: &RouteRequest) -> Result<RouteDecision> {
        let shared = self.shared();
        shared.view.ensure_current(&shared.registry).await?;
        shared.view.check_context(&request.context)?;
        let mut request = Cow::Borrowed(request);
        loop {
            let decision = shared.view.route(&request);
            if !shared.verify_liveness {
                return Ok(decision);
            }
            let named: Vec<ExpertId> = decision.experts().cloned().collect();
            let alive = shared.registry.alive(&named).await?;
            let mut lapsed = named
                .iter()
                .zip(alive)
                .filter(|(_, alive)| !alive)
                .map(|(id, _)| id)
                .peekable();
            if lapsed.peek().is_none() {
                return Ok(decision);
            }
            // Each pass takes at least one expert out of this request, so
            // this ends whatever the shared view does meanwhile.
            let context = &mut request.to_mut().context;
            for id in lapsed {
                tracing::debug!(expert = %id, "heartbeat lapsed; routing without it");
                shared.view.set_status(id, Availability::Offline, None);
                context
                    .availability
                    .insert(id.clone(), Availability::Offline);
            }
        }
    }

    /// Records that `request` should have gone to `expert`: the correction
    /// is kept in the state backend, and every router built from then on,
    /// in this process and in every other on the backend, learns it (in this
    /// process from the next request on; in others when the announcement
    /// arrives or at their next refresh). Corrections are bounded and decay:
    /// one bad correction cannot take an expert over. Decisions show a
    /// learned contribution in `breakdown.learned` and as `word (learned)`
    /// in the matched terms.
    ///
    /// The expert must be registered; the request must have some text.
    #[instrument(skip(self, request))]
    pub async fn route_feedback(&self, request: &str, expert: &str) -> Result<()> {
        let shared = self.shared();
        shared.view.ensure_current(&shared.registry).await?;
        if request.trim().is_empty() {
            return Err(CoordinatorError::EmptyRequest);
        }
        if shared.view.status(expert).is_none() {
            return Err(RegistryError::NotRegistered { id: expert.into() }.into());
        }
        corrections::append(shared.backend.as_ref(), &Correction::new(request, expert)).await?;
        shared.view.invalidate();
        Ok(())
    }

    /// The availability and load that routing uses for `expert` now, or
    /// `None` for an expert routing does not know.
    pub fn routing_status(&self, expert: &str) -> Option<(Availability, u32)> {
        self.shared().view.status(expert)
    }
}
