//! Merging recommendations and resolutions into one unified recommendation.

use std::collections::BTreeMap;

use consort_protocol::ExpertId;

use crate::detect::{Detection, SubjectGroup};
use crate::strategy::share;
use crate::{
    Allocations, Cause, Escalation, Resolution, Stance, StrategyName, UnifiedRecommendation,
};

/// Builds the unified recommendation; `resolutions` pairs up with
/// `detection.conflicts`.
pub(crate) fn unify(
    detection: &Detection<'_>,
    resolutions: &[Resolution],
) -> UnifiedRecommendation {
    let pairs = || detection.conflicts.iter().zip(resolutions);
    let by_subject: BTreeMap<&str, &Resolution> = pairs()
        .filter(|(c, _)| matches!(c.cause, Cause::Contradiction | Cause::PriorityMismatch))
        .map(|(c, r)| (c.subject.as_str(), r))
        .collect();
    let by_resource: BTreeMap<&str, &Resolution> = pairs()
        .filter_map(|(c, r)| match &c.cause {
            Cause::OverCapacity { resource, .. } | Cause::UnknownCapacity { resource } => {
                Some((resource.as_str(), r))
            }
            _ => None,
        })
        .collect();

    let mut decisions = BTreeMap::new();
    for group in &detection.subjects {
        let highest = group
            .members
            .iter()
            .map(|m| m.recommendation.priority)
            .max()
            .unwrap_or_default();
        let decision = match by_subject.get(group.subject) {
            None => undisputed(group, StrategyName::Unanimous),
            // The position is undisputed; only its priority awaits a human,
            // so act on the most urgent one asked for meanwhile.
            Some(resolution) if resolution.escalated => group
                .agreed()
                .then(|| undisputed(group, resolution.strategy.clone()))
                .flatten()
                .map(|stance| stance.with_priority(highest)),
            Some(resolution) => resolution.selected.as_ref().map(|selected| {
                let mut stance = selected.clone();
                stance.priority = Some(selected.priority.unwrap_or(highest));
                stance.strategy = Some(resolution.strategy.clone());
                stance
            }),
        };
        if let Some(decision) = decision {
            decisions.insert(group.subject.to_owned(), decision);
        }
    }

    let mut requested: Allocations = BTreeMap::new();
    for member in detection.subjects.iter().flat_map(|g| &g.members) {
        for (resource, amount) in &member.recommendation.requested_resources {
            *requested
                .entry(resource.clone())
                .or_default()
                .entry(member.expert().clone())
                .or_default() += amount;
        }
    }
    let mut allocations = Allocations::new();
    for (resource, full) in requested {
        match by_resource.get(resource.as_str()) {
            None => {
                allocations.insert(resource, full);
            }
            Some(r) if !r.escalated => {
                if let Some(granted) = r.allocations.get(&resource) {
                    allocations.insert(resource, granted.clone());
                }
            }
            Some(_) => {}
        }
    }

    let escalations = resolutions
        .iter()
        .filter(|r| r.escalated)
        .map(|r| Escalation {
            kind: r.kind,
            subject: r.subject.clone(),
            reason: r.rationale.clone(),
        })
        .collect();
    UnifiedRecommendation {
        decisions,
        allocations,
        escalations,
    }
}

/// The stance of a subject on whose position every member agrees: the
/// first member's position and priority, every expert once at its heaviest
/// weight. `None` for an empty group.
fn undisputed(group: &SubjectGroup<'_>, strategy: StrategyName) -> Option<Stance> {
    let first = group.members.first()?;
    let mut experts: Vec<ExpertId> = Vec::with_capacity(group.members.len());
    let mut heaviest: Vec<f64> = Vec::with_capacity(group.members.len());
    // Members are sorted by expert within a subject, so repeats are adjacent.
    for member in &group.members {
        match (experts.last(), heaviest.last_mut()) {
            (Some(last), Some(weight)) if last == member.expert() => {
                *weight = weight.max(member.weight());
            }
            _ => {
                experts.push(member.expert().clone());
                heaviest.push(member.weight());
            }
        }
    }
    let weight: f64 = heaviest.iter().sum();
    let mut stance = Stance::new(
        first.recommendation.position.clone(),
        experts,
        weight,
        share(weight, weight),
    )
    .with_priority(first.recommendation.priority);
    stance.strategy = Some(strategy);
    Some(stance)
}
