//! Availability and load: each expert's live status, the factor a score
//! is multiplied by, and which experts are offline.

use consort_protocol::Availability;

use crate::request::RouteContext;
use crate::{RouterConfig, RouterError};

use super::Router;

impl Router {
    /// Applies an expert's live availability and load (what its profile's
    /// `availability_status` and `current_load` said at build time), in O(1)
    /// amortised, without rebuilding the index. Every later request routes
    /// as if the router had been built from profiles with this status, and
    /// [`profiles`](Self::profiles) shows it; a request's
    /// `RouteContext::availability` and `load` still override it for that
    /// request.
    ///
    /// [`update_profiles`](Self::update_profiles) takes the status from the
    /// new profiles.
    ///
    /// Fails with [`RouterError::UnknownExpert`] when `expert` is not in the
    /// registry; the router is then unchanged.
    ///
    /// ```
    /// use consort_protocol::{Availability, load_registry, seeds};
    /// use consort_router::{RouteRequest, Router, RouterConfig};
    ///
    /// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    /// let mut router = Router::new(&experts, RouterConfig::default())?;
    /// let request = RouteRequest::new("Review the indemnity clause of this contract");
    /// assert_eq!(router.route(&request).primary.as_deref(), Some("legal_consultant"));
    ///
    /// router.set_status("legal_consultant", Availability::Offline, 0)?;
    /// assert_eq!(router.status("legal_consultant"), Some((Availability::Offline, 0)));
    /// assert!(router.route(&request).experts().all(|e| e != "legal_consultant"));
    ///
    /// assert!(router.set_status("nobody", Availability::Busy, 1).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_status(
        &mut self,
        expert: &str,
        availability: Availability,
        load: u32,
    ) -> Result<(), RouterError> {
        let slot = self.index.ids.get(expert).map(|&number| number as usize);
        let found = slot.and_then(|slot| {
            Some((
                self.index.experts.get_mut(slot)?,
                self.resting.get_mut(slot)?,
            ))
        });
        let Some((indexed, resting)) = found else {
            return Err(RouterError::UnknownExpert {
                expert: expert.into(),
            });
        };
        indexed.status = availability;
        indexed.load = load;
        indexed.profile.availability_status = availability;
        indexed.profile.current_load = load;
        *resting = availability_factor(&self.config, availability, load, indexed.max_concurrent);
        Ok(())
    }

    /// The availability and load routing uses now for `expert` (from its
    /// profile, or the last [`set_status`](Self::set_status)), or `None`
    /// when it is not in the registry.
    pub fn status(&self, expert: &str) -> Option<(Availability, u32)> {
        let number = *self.index.ids.get(expert)?;
        let indexed = self.index.expert(number)?;
        Some((indexed.status, indexed.load))
    }

    /// Each expert's availability factor from its profile (or its last
    /// status update), by expert number.
    pub(super) fn resting_availability(&self) -> Vec<Option<f64>> {
        self.index
            .experts
            .iter()
            .map(|e| availability_factor(&self.config, e.status, e.load, e.max_concurrent))
            .collect()
    }

    /// The availability factor of expert `number`, or `None` when it is
    /// offline.
    #[inline]
    pub(super) fn availability(&self, number: u32, context: &RouteContext) -> Option<f64> {
        if context.availability.is_empty() && context.load.is_empty() {
            self.resting.get(number as usize).copied().flatten()
        } else {
            self.overridden_availability(number, context)
        }
    }

    /// [`Self::availability`] when the request overrides some status or
    /// load.
    fn overridden_availability(&self, number: u32, context: &RouteContext) -> Option<f64> {
        let expert = self.index.expert(number)?;
        let status = if context.availability.is_empty() {
            expert.status
        } else {
            context
                .availability
                .get(&expert.profile.id)
                .copied()
                .unwrap_or(expert.status)
        };
        let load = if context.load.is_empty() {
            expert.load
        } else {
            context
                .load
                .get(&expert.profile.id)
                .copied()
                .unwrap_or(expert.load)
        };
        availability_factor(&self.config, status, load, expert.max_concurrent)
    }
}

/// The factor a score is multiplied by: `busy_factor` when busy, times
/// the load penalty; `None` when offline.
fn availability_factor(
    config: &RouterConfig,
    status: Availability,
    load: u32,
    max_concurrent: Option<u32>,
) -> Option<f64> {
    let base = match status {
        Availability::Available => 1.0,
        Availability::Busy => config.busy_factor,
        Availability::Offline => return None,
    };
    let load_factor = match max_concurrent {
        Some(max) if max > 0 => {
            1.0 - config.load_penalty * (f64::from(load) / f64::from(max)).min(1.0)
        }
        _ => 1.0,
    };
    Some(base * load_factor)
}
