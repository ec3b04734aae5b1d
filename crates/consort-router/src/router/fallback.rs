//! The fallback of a request nothing matches: the configured fallback
//! expert or the registry's coordinator.

use consort_protocol::{ExpertId, PriorityLevel};

use crate::RouterError;
use crate::decision::FallbackReason;
use crate::request::RouteContext;

use super::Router;
use super::matches::Scored;

impl Router {
    /// Fails when `fallback_expert` is not in the registry.
    pub(super) fn check_fallback(&self) -> Result<(), RouterError> {
        match &self.config.fallback_expert {
            Some(id) if !self.index.ids.contains_key(id) => {
                Err(RouterError::UnknownFallback { expert: id.clone() })
            }
            _ => Ok(()),
        }
    }

    /// The expert a request nothing matched goes to, and why: the
    /// configured `fallback_expert` unless it is offline, else (with
    /// `coordinator_fallback`) the best-ranked coordinator-level candidate,
    /// else the available coordinator-level expert with the fastest SLA
    /// (then the smallest id).
    pub(super) fn fallback(
        &self,
        context: &RouteContext,
        ranked: &[Scored<'_>],
    ) -> Option<(ExpertId, FallbackReason)> {
        if let Some(id) = &self.config.fallback_expert {
            let number = *self.index.ids.get(id)?;
            let expert = self.index.expert(number)?;
            return self
                .availability(number, context)
                .map(|_| (expert.profile.id.clone(), FallbackReason::FallbackExpert));
        }
        if !self.config.coordinator_fallback {
            return None;
        }
        let ranked = ranked
            .iter()
            .find(|c| c.expert.priority == PriorityLevel::Coordinator)
            .map(|c| c.acc.expert);
        let number = ranked.or_else(|| {
            self.index
                .coordinators
                .iter()
                .copied()
                .find(|&n| self.availability(n, context).is_some())
        })?;
        let expert = self.index.expert(number)?;
        Some((expert.profile.id.clone(), FallbackReason::Coordinator))
    }
}
