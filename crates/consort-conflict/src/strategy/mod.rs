//! Strategies: how each kind of conflict is settled. The defaults are public
//! so an application can wrap them, and any of them can be replaced with
//! [`ConflictResolver::with_strategy`](crate::ConflictResolver::with_strategy).

mod describe;
mod name;
mod priority_order;
mod proportional;
mod review;
mod weighted;

use std::fmt;

use crate::{Conflict, ConflictError, Policy, Resolution};

pub use name::StrategyName;
pub use priority_order::PriorityOrder;
pub use proportional::ProportionalAllocation;
pub use review::HumanReview;
pub use weighted::WeightedSelection;

pub(crate) use describe::{position as describe_position, share};

/// Settles one conflict.
///
/// A strategy must be deterministic: the same conflict and context give the
/// same resolution, whatever order the recommendations arrived in (the
/// conflict's members are already sorted).
///
/// ```
/// use consort_conflict::{Conflict, StrategyContext, ConflictError, Resolution, Strategy};
///
/// /// Sends every contradiction to a human.
/// #[derive(Debug)]
/// struct AlwaysAsk;
///
/// impl Strategy for AlwaysAsk {
///     fn resolve(&self, conflict: &Conflict<'_>, _ctx: &StrategyContext<'_>) -> Result<Resolution, ConflictError> {
///         Ok(Resolution::new(conflict.kind(), &conflict.subject, "ask", true, "house rule"))
///     }
/// }
/// ```
pub trait Strategy: Send + Sync + fmt::Debug {
    /// Settles `conflict`, or explains why a human must.
    fn resolve(
        &self,
        conflict: &Conflict<'_>,
        ctx: &StrategyContext<'_>,
    ) -> Result<Resolution, ConflictError>;
}

/// What a strategy may consult besides the conflict itself.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct StrategyContext<'a> {
    /// The resolver's policy.
    pub policy: &'a Policy,
}

impl<'a> StrategyContext<'a> {
    /// A context over `policy`.
    pub fn new(policy: &'a Policy) -> Self {
        Self { policy }
    }
}
