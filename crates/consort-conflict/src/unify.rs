//! Merging recommendations and resolutions into one unified recommendation.

use std::collections::BTreeMap;

use crate::detect::Detection;
use crate::{Allocations, Cause, Decision, Escalation, Resolution, UnifiedRecommendation};

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
        let Some(first) = group.members.first() else {
            continue;
        };
        let mut experts: Vec<String> = group
            .members
            .iter()
            .map(|m| m.expert().to_owned())
            .collect();
        experts.dedup();
        let highest = group
            .members
            .iter()
            .map(|m| m.recommendation.priority)
            .max()
            .unwrap_or_default();
        let decision = match by_subject.get(group.subject) {
            None => Some(Decision {
                position: first.recommendation.position.clone(),
                priority: first.recommendation.priority,
                experts,
                strategy: "unanimous".into(),
            }),
            Some(resolution) if resolution.escalated => {
                // The position is undisputed; only its priority awaits a human,
                // so act on the most urgent one asked for meanwhile.
                group.agreed().then(|| Decision {
                    position: first.recommendation.position.clone(),
                    priority: highest,
                    experts,
                    strategy: resolution.strategy.clone(),
                })
            }
            Some(resolution) => resolution.selected.as_ref().map(|s| Decision {
                position: s.position.clone(),
                priority: s.priority.unwrap_or(highest),
                experts: s.experts.clone(),
                strategy: resolution.strategy.clone(),
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
                .entry(member.expert().to_owned())
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
