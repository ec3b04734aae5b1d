//! Builders shared by the integration tests.

#![allow(dead_code, reason = "each test file uses a different subset")]
#![allow(clippy::unwrap_used, reason = "test support fails loudly")]

use std::collections::BTreeMap;

use consort_conflict::{ConflictResolver, Policy};
use consort_protocol::{
    Confidence, ExpertProfile, ExpertRecommendation, Priority, load_registry, seeds,
};
use serde_json::Value;

pub(crate) fn experts() -> Vec<ExpertProfile> {
    load_registry(seeds::EXPERT_REGISTRY).unwrap()
}

pub(crate) fn resolver() -> ConflictResolver {
    ConflictResolver::new(&experts(), Policy::default()).unwrap()
}

pub(crate) fn rec(
    expert: &str,
    subject: &str,
    position: impl Into<Value>,
    confidence: f64,
) -> ExpertRecommendation {
    ExpertRecommendation {
        expert: expert.into(),
        subject: subject.into(),
        domain: None,
        position: position.into(),
        confidence_level: Confidence::new(confidence).unwrap(),
        priority: Priority::Medium,
        precedes: Vec::new(),
        requested_resources: BTreeMap::new(),
        rationale: String::new(),
    }
}

pub(crate) fn in_domain(mut r: ExpertRecommendation, domain: &str) -> ExpertRecommendation {
    r.domain = Some(domain.into());
    r
}

pub(crate) fn with_priority(
    mut r: ExpertRecommendation,
    priority: Priority,
) -> ExpertRecommendation {
    r.priority = priority;
    r
}

pub(crate) fn preceding(mut r: ExpertRecommendation, subject: &str) -> ExpertRecommendation {
    r.precedes.push(subject.into());
    r
}

pub(crate) fn requesting(
    mut r: ExpertRecommendation,
    resource: &str,
    amount: f64,
) -> ExpertRecommendation {
    r.requested_resources.insert(resource.into(), amount);
    r
}

pub(crate) fn capacities(entries: &[(&str, f64)]) -> BTreeMap<String, f64> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}
