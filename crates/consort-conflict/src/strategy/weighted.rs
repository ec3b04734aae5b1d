//! Direct contradictions: weighted selection, consensus, or human review.

use std::fmt;

use super::describe::{Phrase, backed, compare_standing, percent, ranked_options, share, tally};
use super::{Strategy, StrategyContext};
use crate::{Conflict, ConflictError, Resolution, StrategyName};

/// The default strategy for [`DirectContradiction`](crate::ConflictKind::DirectContradiction).
///
/// Each recommendation weighs authority x confidence; experts backing the
/// same position pool their weight (an expert counts once per position).
/// With `total` the weight of all positions and `margin = (top - second) /
/// total`:
///
/// 1. `total` is 0 or `margin <= tie_epsilon`: a tie, escalated
///    (`human_review`);
/// 2. two or more experts back the top position and it holds at least
///    `consensus_share` of `total`: `consensus`;
/// 3. `margin < min_margin`: too close to call, escalated (`human_review`);
/// 4. otherwise the top position wins (`weighted_selection`).
///
/// The selection's priority is that of its strongest backer (by
/// `priority_level`, then authority, then confidence).
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedSelection;

impl Strategy for WeightedSelection {
    fn resolve(
        &self,
        conflict: &Conflict<'_>,
        ctx: &StrategyContext<'_>,
    ) -> Result<Resolution, ConflictError> {
        let policy = ctx.policy;
        let kind = conflict.kind();
        let subject = &conflict.subject;
        let tallies = tally(&conflict.members);
        let (Some(top), second) = (tallies.first(), tallies.get(1)) else {
            return Err(ConflictError::strategy(
                conflict,
                "weighted_selection needs at least one recommendation",
            ));
        };
        let total: f64 = tallies.iter().map(|t| t.weight).sum();
        let margin = share(top.weight - second.map_or(0.0, |s| s.weight), total);
        let top_share = share(top.weight, total);
        // The runner-up is named in full; further positions only counted,
        // since `alternatives` lists them all.
        let others = tallies.len().saturating_sub(2);
        let against = || {
            Phrase(move |f: &mut fmt::Formatter<'_>| match (second, others) {
                (None, _) => f.write_str("no other position"),
                (Some(second), 0) => write!(f, "{}", backed(second)),
                (Some(second), more) => {
                    write!(f, "{} and {more} other position(s)", backed(second))
                }
            })
        };

        let (strategy, escalated, rationale) = if total <= 0.0 || margin <= policy.tie_epsilon {
            let reason = if total <= 0.0 {
                format!(
                    "no weight on {subject}: every recommendation has zero authority or zero confidence"
                )
            } else {
                format!(
                    "tie on {subject}: {} weighs the same as {}",
                    backed(top),
                    against()
                )
            };
            (
                StrategyName::HumanReview,
                true,
                format!("{reason}; escalated to human review"),
            )
        } else if top.backers.len() >= 2 && top_share >= policy.consensus_share {
            (
                StrategyName::Consensus,
                false,
                format!(
                    "consensus on {subject}: {} holds {} of the weight (>= {}) against {}",
                    backed(top),
                    percent(top_share),
                    percent(policy.consensus_share),
                    against()
                ),
            )
        } else if margin < policy.min_margin {
            (
                StrategyName::HumanReview,
                true,
                format!(
                    "too close to call on {subject}: {} against {}; margin {} < {}; escalated to human review",
                    backed(top),
                    against(),
                    percent(margin),
                    percent(policy.min_margin)
                ),
            )
        } else {
            (
                StrategyName::WeightedSelection,
                false,
                format!(
                    "{} outweighs {} on {subject}; margin {} >= {}",
                    backed(top),
                    against(),
                    percent(margin),
                    percent(policy.min_margin)
                ),
            )
        };

        let mut resolution = Resolution::new(kind, subject, strategy, escalated, rationale);
        resolution.alternatives = ranked_options(&tallies, total);
        if !escalated {
            let strongest = top.backers.iter().max_by(|a, b| compare_standing(a, b));
            let mut selected = top.stance(total);
            selected.priority = strongest.map(|m| m.recommendation.priority);
            resolution.selected = Some(selected);
        }
        Ok(resolution)
    }
}
