//! Resource conflicts: proportional allocation.

use std::collections::BTreeMap;

use consort_protocol::ExpertId;

use super::describe::{Fixed, amount};
use super::{Strategy, StrategyContext};
use crate::allocation::{Request, water_fill};
use crate::{Allocations, Cause, Conflict, ConflictError, Resolution, StrategyName};

/// The default strategy for [`ResourceConflict`](crate::ConflictKind::ResourceConflict).
///
/// Shares the resource's capacity among the requests in proportion to
/// priority factor x authority x confidence, never granting more than a
/// request asked for; what a capped request leaves is shared again among
/// the rest (water-filling). Grants are never negative, and their sum never
/// exceeds the capacity. Reported per expert (an expert's requests on
/// several subjects add up). Never escalates.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProportionalAllocation;

impl Strategy for ProportionalAllocation {
    fn resolve(
        &self,
        conflict: &Conflict<'_>,
        ctx: &StrategyContext<'_>,
    ) -> Result<Resolution, ConflictError> {
        let Cause::OverCapacity {
            resource,
            capacity,
            requested,
        } = &conflict.cause
        else {
            return Err(ConflictError::strategy(
                conflict,
                "proportional_allocation only handles over-capacity resource conflicts",
            ));
        };
        let factors = &ctx.policy.priority_factors;
        let requests: Vec<Request> = conflict
            .members
            .iter()
            .map(|m| Request {
                amount: m
                    .recommendation
                    .requested_resources
                    .get(resource)
                    .copied()
                    .unwrap_or(0.0),
                weight: factors.factor(m.recommendation.priority) * m.weight(),
            })
            .collect();
        let granted = water_fill(*capacity, &requests);

        // Per expert: (weight, requested, granted), summed in member order.
        let mut per_expert: BTreeMap<&ExpertId, (f64, f64, f64)> = BTreeMap::new();
        for ((member, request), grant) in conflict.members.iter().zip(&requests).zip(&granted) {
            let entry = per_expert.entry(member.expert()).or_default();
            entry.0 += request.weight;
            entry.1 += request.amount;
            entry.2 += grant;
        }
        let lines: Vec<String> = per_expert
            .iter()
            .map(|(expert, (weight, asked, got))| {
                format!(
                    "{expert} (weight {}) gets {} of {}",
                    Fixed(*weight, 2),
                    amount(*got),
                    amount(*asked)
                )
            })
            .collect();
        let mut resolution = Resolution::new(
            conflict.kind(),
            &conflict.subject,
            StrategyName::ProportionalAllocation,
            false,
            format!(
                "{} of {resource} requested, {} available; shared by weight = priority factor x authority x confidence, capped at each request: {}",
                amount(*requested),
                amount(*capacity),
                lines.join("; ")
            ),
        );
        let grants = per_expert
            .into_iter()
            .map(|(expert, (_, _, got))| (expert.clone(), got))
            .collect();
        resolution.allocations = Allocations::from([(resource.clone(), grants)]);
        Ok(resolution)
    }
}
