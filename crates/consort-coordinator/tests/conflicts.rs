//! Conflict resolution and prioritisation through the coordinator, over the
//! registry's experts.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use consort_conflict::{BUDGET_DISAGREEMENT, ConflictError, ConflictKind, Policy, ResolveInput};
use consort_coordinator::{Coordinator, CoordinatorError};
use consort_protocol::{ExpertRecommendation, from_json_str, load_registry, seeds};
use consort_state::MemoryBackend;

async fn coordinator() -> Coordinator {
    let coordinator = Coordinator::builder(Arc::new(MemoryBackend::new("conflicts").unwrap()))
        .build()
        .await
        .unwrap();
    for expert in load_registry(seeds::EXPERT_REGISTRY).unwrap() {
        coordinator.register_expert(&expert).await.unwrap();
    }
    coordinator
}

#[tokio::test]
async fn resolves_like_the_resolver_over_the_same_experts() {
    let coordinator = coordinator().await;
    let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT).unwrap();
    let report = coordinator
        .resolve_conflicts(&input.recommendations, &input.capacities)
        .await
        .unwrap();
    let direct = input
        .resolve(&load_registry(seeds::EXPERT_REGISTRY).unwrap())
        .unwrap();
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        serde_json::to_value(&direct).unwrap()
    );
    assert!(
        report
            .conflict(ConflictKind::DirectContradiction, "campaign_budget")
            .is_some()
    );

    // A policy for one call only: a margin no one can clear escalates.
    let strict = Policy::default().with_min_margin(0.99);
    let escalated = coordinator
        .resolve_conflicts_under(&input.recommendations, &input.capacities, strict)
        .await
        .unwrap();
    assert!(escalated.escalated().count() > report.escalated().count());
}

#[tokio::test]
async fn prioritizes_and_names_unknown_experts() {
    let coordinator = coordinator().await;
    let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT).unwrap();
    let ranked = coordinator
        .prioritize_recommendations(&input.recommendations)
        .await
        .unwrap();
    assert_eq!(ranked.len(), input.recommendations.len());
    assert!(ranked.windows(2).all(|w| w[0].weight >= w[1].weight));

    let mut stranger: ExpertRecommendation = input.recommendations[0].clone();
    stranger.expert = "nobody".into();
    let err = coordinator
        .prioritize_recommendations(&[stranger])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoordinatorError::Conflict(ConflictError::UnknownExpert { index: 0, .. })
        ),
        "{err}"
    );
}
