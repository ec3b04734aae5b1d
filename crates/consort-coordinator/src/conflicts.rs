//! Conflict resolution over the registry's experts: the spec's
//! `resolveExpertConflict` and `prioritizeRecommendations`.

use std::collections::BTreeMap;

use consort_conflict::{ConflictResolver, Policy, PrioritizedRecommendation, Report};
use consort_protocol::ExpertRecommendation;
use tracing::instrument;

use crate::coordinator::Coordinator;
use crate::error::Result;

impl Coordinator {
    /// Detects and resolves every conflict among `recommendations` under the
    /// coordinator's policy: contradictions weighed by domain authority and
    /// confidence, priorities, and scarce resources (`capacities`, by name;
    /// empty means nothing is scarce). The report carries the rationale, the
    /// allocations and what must go to a human.
    ///
    /// Every recommending expert must be registered: its profile gives its
    /// domain authority.
    #[instrument(skip_all, fields(recommendations = recommendations.len()))]
    pub async fn resolve_conflicts(
        &self,
        recommendations: &[ExpertRecommendation],
        capacities: &BTreeMap<String, f64>,
    ) -> Result<Report> {
        let shared = self.shared();
        shared.view.ensure_current(&shared.registry).await?;
        Ok(shared
            .view
            .resolver()
            .resolve(recommendations, capacities)?)
    }

    /// Like [`resolve_conflicts`](Self::resolve_conflicts), under `policy`
    /// for this call only.
    #[instrument(skip_all, fields(recommendations = recommendations.len()))]
    pub async fn resolve_conflicts_under(
        &self,
        recommendations: &[ExpertRecommendation],
        capacities: &BTreeMap<String, f64>,
        policy: Policy,
    ) -> Result<Report> {
        let shared = self.shared();
        shared.view.ensure_current(&shared.registry).await?;
        let resolver = ConflictResolver::new(&shared.view.profiles(), policy)?;
        Ok(resolver.resolve(recommendations, capacities)?)
    }

    /// Ranks `recommendations` by priority factor times domain authority
    /// times confidence, highest first: the spec's
    /// `prioritizeRecommendations`. Every recommending expert must be
    /// registered.
    #[instrument(skip_all, fields(recommendations = recommendations.len()))]
    pub async fn prioritize_recommendations(
        &self,
        recommendations: &[ExpertRecommendation],
    ) -> Result<Vec<PrioritizedRecommendation>> {
        let shared = self.shared();
        shared.view.ensure_current(&shared.registry).await?;
        Ok(shared.view.resolver().prioritize(recommendations)?)
    }

    /// The conflict policy in force.
    pub fn conflict_policy(&self) -> &Policy {
        self.shared().view.policy()
    }
}
