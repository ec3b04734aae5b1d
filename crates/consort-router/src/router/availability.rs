//! Availability and load: the factor a score is multiplied by, and which
//! experts are offline.

use consort_protocol::Availability;

use crate::request::RouteContext;

use super::Router;

impl Router {
    /// Each expert's availability factor from its profile (or its last
    /// status update), by expert number.
    pub(super) fn resting_availability(&self) -> Vec<Option<f64>> {
        self.index
            .experts
            .iter()
            .map(|e| self.availability_factor(e.status, e.load, e.max_concurrent))
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
        self.availability_factor(status, load, expert.max_concurrent)
    }

    fn availability_factor(
        &self,
        status: Availability,
        load: u32,
        max_concurrent: Option<u32>,
    ) -> Option<f64> {
        let base = match status {
            Availability::Available => 1.0,
            Availability::Busy => self.config.busy_factor,
            Availability::Offline => return None,
        };
        let load_factor = match max_concurrent {
            Some(max) if max > 0 => {
                1.0 - self.config.load_penalty * (f64::from(load) / f64::from(max)).min(1.0)
            }
            _ => 1.0,
        };
        Some(base * load_factor)
    }
}
