//! [`Stance`]: a position with the experts and the weight behind it.

use consort_protocol::{ExpertId, Priority};
use serde::Serialize;
use serde_json::Value;

use crate::StrategyName;

/// A position with its priority, its backers and their weight.
///
/// One type for everything a resolution ranks or settles on: a resolution's
/// [`selected`](crate::Resolution::selected) stance, each of its
/// [`alternatives`](crate::Resolution::alternatives), and each subject's
/// stance in the [`UnifiedRecommendation`](crate::UnifiedRecommendation),
/// which also says which [`strategy`](Self::strategy) decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Stance {
    /// The position: any JSON value. For a precedence claim, `[before,
    /// after]`; for a settled precedence cycle, its subjects in the order the
    /// accepted claims give.
    pub position: Value,
    /// The priority that goes with it: always set in the unified
    /// recommendation and for priority conflicts, `None` where priority is
    /// not what was weighed (a precedence claim, a contradiction's option).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The experts who back it, sorted, each once.
    pub experts: Vec<ExpertId>,
    /// The weight behind it: the sum of its backers' authority x confidence
    /// (for a priority, its strongest backer's).
    pub weight: f64,
    /// Its weight as a share of the weight of every stance taken on the same
    /// question (0 when all weigh 0; 1 for an undisputed subject).
    pub share: f64,
    /// In the unified recommendation: [`Unanimous`](StrategyName::Unanimous)
    /// when nobody disagreed, otherwise the strategy that decided
    /// ([`HumanReview`](StrategyName::HumanReview) for a priority awaiting a
    /// human, which keeps the highest priority asked for meanwhile). `None`
    /// inside a [`Resolution`](crate::Resolution), whose own `strategy` says
    /// it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<StrategyName>,
}

impl Stance {
    /// A stance on `position` backed by `experts` with `weight`, `share` of
    /// the whole; no priority or strategy yet (set the public fields).
    pub fn new(position: Value, experts: Vec<ExpertId>, weight: f64, share: f64) -> Self {
        Self {
            position,
            priority: None,
            experts,
            weight,
            share,
            strategy: None,
        }
    }

    /// The same stance with `priority`.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }
}
