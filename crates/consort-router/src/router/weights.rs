//! Signal weights, validated and normalised to sum to 1.

use crate::RouterError;
use crate::config::check_weight;
use crate::scratch::Acc;

use super::Router;

/// The weights in force, divided by their sum: the built-in signals in
/// `Weights::named` order, then the extra signals in registration order.
#[derive(Debug, Default)]
pub(super) struct NormalizedWeights {
    pub(super) builtin: [f64; 4],
    pub(super) extra: Vec<f64>,
}

impl Router {
    /// Validates every weight and divides them by their sum.
    pub(super) fn normalized_weights(&self) -> Result<NormalizedWeights, RouterError> {
        let mut builtin = [0.0; 4];
        for (slot, (name, value)) in builtin.iter_mut().zip(self.config.weights.named()) {
            *slot = check_weight(name, value)?;
        }
        let mut extra = Vec::with_capacity(self.signals.len());
        for s in &self.signals {
            extra.push(check_weight(s.signal.name(), s.weight)?);
        }
        let total: f64 = builtin.iter().chain(&extra).sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(RouterError::ZeroWeights);
        }
        builtin
            .iter_mut()
            .chain(&mut extra)
            .for_each(|w| *w /= total);
        Ok(NormalizedWeights { builtin, extra })
    }

    /// The weighted sum of the built-in signals: of their bounds until the
    /// expert is saturated. One expression for both, so a bound's sum is
    /// never below the signals' sum.
    pub(super) fn weighted(&self, acc: &Acc) -> f64 {
        let [w_domain, w_capability, w_complexity, w_context] = self.weights.builtin;
        w_domain * acc.domain
            + w_capability * acc.capability
            + w_complexity * acc.complexity
            + w_context * acc.context
    }
}
