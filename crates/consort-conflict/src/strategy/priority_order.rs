//! Priority conflicts: the expert with the higher standing decides.

use consort_protocol::{ExpertId, Priority};
use serde_json::Value;

use super::describe::{compare_standing, same_standing, share, standing};
use super::{Strategy, StrategyContext};
use crate::graph::{path, topological_order};
use crate::{Cause, Conflict, ConflictError, Member, Resolution, Stance, StrategyName};

/// The default strategy for [`PriorityConflict`](crate::ConflictKind::PriorityConflict).
///
/// Experts are ranked by standing: `priority_level` (coordinator > high >
/// medium > low), then domain authority, then confidence.
///
/// - Same position, different priorities: the top-ranked expert's priority
///   is kept. If the best expert asking for a different priority has the
///   same standing (authorities and confidences within `tie_epsilon`), the
///   conflict is escalated.
/// - A cycle of precedence claims: claims are accepted strongest first,
///   and a claim that would close a cycle is overruled. If an overruled
///   claim has the same standing as the weakest accepted claim on the cycle
///   it would close, the cycle cannot be broken by rank and is escalated.
#[derive(Debug, Clone, Copy, Default)]
pub struct PriorityOrder;

impl Strategy for PriorityOrder {
    fn resolve(
        &self,
        conflict: &Conflict<'_>,
        ctx: &StrategyContext<'_>,
    ) -> Result<Resolution, ConflictError> {
        let epsilon = ctx.policy.tie_epsilon;
        match &conflict.cause {
            Cause::PrecedenceCycle { subjects } => Ok(break_cycle(conflict, subjects, epsilon)),
            _ => order_priorities(conflict, epsilon),
        }
    }
}

fn by_standing<'a>(members: &[Member<'a>]) -> Vec<Member<'a>> {
    let mut ranked = members.to_vec();
    // Stable: members of equal standing keep their (expert-sorted) order.
    ranked.sort_by(|a, b| compare_standing(b, a));
    ranked
}

fn order_priorities(conflict: &Conflict<'_>, epsilon: f64) -> Result<Resolution, ConflictError> {
    let subject = &conflict.subject;
    let ranked = by_standing(&conflict.members);
    let Some(top) = ranked.first() else {
        return Err(ConflictError::strategy(
            conflict,
            "priority_order needs at least one recommendation",
        ));
    };
    let chosen = top.recommendation.priority;
    let challenger = ranked.iter().find(|m| m.recommendation.priority != chosen);

    let (escalated, rationale) = match challenger {
        Some(other) if same_standing(top, other, epsilon) => (
            true,
            format!(
                "{} asks for {} and {} for {} on {subject} with equal standing; escalated to human review",
                standing(top),
                chosen.as_str(),
                standing(other),
                other.recommendation.priority.as_str()
            ),
        ),
        Some(other) => (
            false,
            format!(
                "priority of {subject} set to {} by {}, which outranks {} asking for {}",
                chosen.as_str(),
                standing(top),
                standing(other),
                other.recommendation.priority.as_str()
            ),
        ),
        None => (
            false,
            format!("every expert asks for {} on {subject}", chosen.as_str()),
        ),
    };

    // One option per priority asked for, in the order of its best backer.
    let mut options: Vec<(Priority, Vec<&Member<'_>>)> = Vec::new();
    for member in &ranked {
        let priority = member.recommendation.priority;
        match options.iter_mut().find(|(p, _)| *p == priority) {
            Some((_, backers)) => backers.push(member),
            None => options.push((priority, vec![member])),
        }
    }
    let best_weights: Vec<f64> = options
        .iter()
        .map(|(_, backers)| backers.first().map_or(0.0, |m| m.weight()))
        .collect();
    let total: f64 = best_weights.iter().sum();
    let mut resolution = Resolution::new(
        conflict.kind(),
        subject,
        if escalated {
            StrategyName::HumanReview
        } else {
            StrategyName::PriorityOrder
        },
        escalated,
        rationale,
    );
    resolution.alternatives = options
        .iter()
        .zip(&best_weights)
        .map(|((priority, backers), &weight)| {
            Stance::new(
                top.recommendation.position.clone(),
                sorted_experts(backers.iter().copied()),
                weight,
                share(weight, total),
            )
            .with_priority(*priority)
        })
        .collect();
    if !escalated {
        // Options are in the order of their best backer, so the top
        // expert's priority comes first.
        resolution.selected = resolution.alternatives.first().cloned();
    }
    Ok(resolution)
}

fn sorted_experts<'m, 'a: 'm>(members: impl Iterator<Item = &'m Member<'a>>) -> Vec<ExpertId> {
    let mut experts: Vec<ExpertId> = members.map(|m| m.expert().clone()).collect();
    experts.sort();
    experts.dedup();
    experts
}

/// A precedence claim: `member` says `before` must come before `after`
/// (indices into the cycle's sorted subjects).
struct Claim<'m, 'a> {
    member: &'m Member<'a>,
    before: usize,
    after: usize,
}

fn break_cycle(conflict: &Conflict<'_>, subjects: &[String], epsilon: f64) -> Resolution {
    let node = |name: &str| subjects.binary_search_by(|s| s.as_str().cmp(name)).ok();
    let ranked = by_standing(&conflict.members);
    let claims: Vec<Claim<'_, '_>> = ranked
        .iter()
        .filter_map(|member| Some((member, node(&member.recommendation.subject)?)))
        .flat_map(|(member, before)| {
            member
                .recommendation
                .precedes
                .iter()
                .filter_map(move |target| node(target))
                .filter(move |&after| after != before)
                .map(move |after| Claim {
                    member,
                    before,
                    after,
                })
        })
        .collect();

    let mut accepted: Vec<&Claim<'_, '_>> = Vec::new();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut overruled = Vec::new();
    let mut unbreakable = None;
    for claim in &claims {
        match path(&edges, subjects.len(), claim.after, claim.before) {
            None => {
                accepted.push(claim);
                edges.push((claim.before, claim.after));
            }
            Some(cycle) => {
                // Claims arrive strongest first, so every accepted claim on
                // the cycle is at least as strong; a tie with the weakest
                // means rank alone cannot say which one should give way.
                let weakest = cycle
                    .iter()
                    .filter_map(|&e| accepted.get(e).map(|c| c.member))
                    .min_by(|a, b| compare_standing(a, b));
                if let Some(weakest) = weakest.filter(|w| same_standing(w, claim.member, epsilon)) {
                    unbreakable.get_or_insert((weakest, claim.member));
                }
                overruled.push((claim, weakest));
            }
        }
    }

    let name = |i: usize| subjects.get(i).map_or("", String::as_str);
    let says = |c: &Claim<'_, '_>| {
        format!(
            "{} says {} precedes {}",
            standing(c.member),
            name(c.before),
            name(c.after)
        )
    };
    let cycle_text = subjects.join(", ");
    let total: f64 = claims.iter().map(|c| c.member.weight()).sum();
    let kind = conflict.kind();
    let subject = &conflict.subject;
    let mut resolution = match unbreakable {
        Some((kept, dropped)) => Resolution::new(
            kind,
            subject,
            StrategyName::HumanReview,
            true,
            format!(
                "precedence claims among {cycle_text} form a cycle that standing cannot break: {} and {} are level; escalated to human review",
                standing(kept),
                standing(dropped)
            ),
        ),
        None => {
            let overruled_text: Vec<String> = overruled
                .iter()
                .map(|(claim, by)| match by {
                    Some(by) => format!("{}, outranked by {}", says(claim), by.expert()),
                    None => says(claim),
                })
                .collect();
            let order: Vec<&str> = topological_order(&edges, subjects.len())
                .into_iter()
                .map(name)
                .collect();
            let mut resolution = Resolution::new(
                kind,
                subject,
                StrategyName::PriorityOrder,
                false,
                format!(
                    "precedence claims among {cycle_text} form a cycle; overruled: {}; order: {}",
                    overruled_text.join("; "),
                    order.join(" -> ")
                ),
            );
            let kept: f64 = accepted.iter().map(|c| c.member.weight()).sum();
            resolution.selected = Some(Stance::new(
                Value::from(order),
                sorted_experts(accepted.iter().map(|c| c.member)),
                kept,
                share(kept, total),
            ));
            resolution
        }
    };
    resolution.alternatives = claims
        .iter()
        .map(|c| {
            let weight = c.member.weight();
            Stance::new(
                Value::from(vec![name(c.before), name(c.after)]),
                vec![c.member.expert().clone()],
                weight,
                share(weight, total),
            )
        })
        .collect();
    resolution
}
