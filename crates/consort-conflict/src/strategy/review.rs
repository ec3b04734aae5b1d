//! Anything the detectors cannot classify: a human decides.

use super::describe::{ranked_options, tally};
use super::{Strategy, StrategyContext};
use crate::{Cause, Conflict, ConflictError, Resolution, StrategyName};

/// The default strategy for [`Unclassified`](crate::ConflictKind::Unclassified)
/// conflicts: escalates with every position ranked by weight and a rationale
/// that says what was found.
#[derive(Debug, Clone, Copy, Default)]
pub struct HumanReview;

impl Strategy for HumanReview {
    fn resolve(
        &self,
        conflict: &Conflict<'_>,
        _ctx: &StrategyContext<'_>,
    ) -> Result<Resolution, ConflictError> {
        let mut experts: Vec<&str> = conflict
            .members
            .iter()
            .map(|m| m.expert().as_str())
            .collect();
        experts.sort_unstable();
        experts.dedup();
        let who = experts.join(", ");
        let subject = &conflict.subject;
        let finding = match &conflict.cause {
            Cause::SelfPrecedence => {
                format!("{who} say(s) {subject} must come before itself")
            }
            Cause::UnknownCapacity { resource } => {
                format!("{who} request(s) {resource}, but no capacity is known for it")
            }
            Cause::OverCapacity { resource, .. } => {
                format!("{who} request(s) more {resource} than there is")
            }
            Cause::Contradiction => format!("{who} disagree(s) on {subject}"),
            Cause::PriorityMismatch => format!("{who} disagree(s) on the priority of {subject}"),
            Cause::PrecedenceCycle { subjects } => {
                format!(
                    "precedence claims among {} form a cycle",
                    subjects.join(", ")
                )
            }
        };
        let tallies = tally(&conflict.members);
        let total: f64 = tallies.iter().map(|t| t.weight).sum();
        let mut resolution = Resolution::new(
            conflict.kind(),
            subject,
            StrategyName::HumanReview,
            true,
            format!("{finding}; escalated to human review"),
        );
        resolution.alternatives = ranked_options(&tallies, total);
        Ok(resolution)
    }
}
