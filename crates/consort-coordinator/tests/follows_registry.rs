//! The coordinator's routing honours the registry end to end, on the memory
//! backend and on a real Redis: offline experts and experts whose heartbeat
//! lapsed are never named, and they can be chosen again when they come back,
//! with no manual refresh.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use consort_coordinator::{Coordinator, CoordinatorError};
use consort_protocol::{Availability, ExpertProfile, load_registry, seeds};
use consort_registry::{RegistryConfig, RegistryError};
use consort_router::{RouteDecision, RouteRequest};
use consort_state::testkit::{RedisTarget, redis_url_or_skip};
use consort_state::{MemoryBackend, StateBackend};

const LEGAL: &str = "Review the NDA and the contract terms before we sign";
const SHORT_TTL: Duration = Duration::from_millis(300);

/// Runs `$case` on a fresh memory backend and on a fresh Redis namespace.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend: std::sync::Arc<dyn consort_state::StateBackend> =
                        std::sync::Arc::new(consort_state::MemoryBackend::new("coord").unwrap());
                    super::$case(backend).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(target) = super::redis(stringify!($case)).await else { return };
                    super::$case(std::sync::Arc::new(target.backend().await)).await;
                    drop(target);
                }
            )*
        }
    };
}

on_both_backends!(
    offline_experts_are_never_chosen_and_come_back,
    lapsed_heartbeats_are_never_chosen_and_come_back,
    lapses_reach_routing_through_the_sweeper_alone,
    registrations_route_at_once_and_removals_never,
    changes_made_by_another_coordinator_are_followed,
    busy_experts_are_penalised,
);

async fn redis(test: &str) -> Option<RedisTarget> {
    redis_url_or_skip(&format!("consort-coordinator::{test}")).await
}

fn seed_experts() -> Vec<ExpertProfile> {
    load_registry(seeds::EXPERT_REGISTRY).unwrap()
}

async fn coordinator(backend: Arc<dyn StateBackend>, ttl: Duration) -> Coordinator {
    Coordinator::builder(backend)
        .with_registry_config(
            RegistryConfig::default()
                .with_heartbeat_ttl(ttl)
                .with_sweep_interval(Duration::from_millis(50)),
        )
        .with_status_refresh(Duration::from_millis(200))
        .build()
        .await
        .unwrap()
}

async fn with_seed_experts(backend: Arc<dyn StateBackend>, ttl: Duration) -> Coordinator {
    let coordinator = coordinator(backend, ttl).await;
    for expert in seed_experts() {
        coordinator.register_expert(&expert).await.unwrap();
    }
    coordinator
}

async fn route(coordinator: &Coordinator, text: &str) -> RouteDecision {
    coordinator.route(&RouteRequest::new(text)).await.unwrap()
}

fn names(decision: &RouteDecision, expert: &str) -> bool {
    decision.experts().any(|e| e == expert)
        || decision.candidates.iter().any(|c| c.expert == expert)
}

/// Polls `route` until `wanted` holds, for at most five seconds.
async fn eventually(
    coordinator: &Coordinator,
    text: &str,
    what: &str,
    wanted: impl Fn(&RouteDecision) -> bool,
) -> RouteDecision {
    for _ in 0..100 {
        let decision = route(coordinator, text).await;
        if wanted(&decision) {
            return decision;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what}: still not the case after 5 s: {}",
        route(coordinator, text).await
    );
}

async fn offline_experts_are_never_chosen_and_come_back(backend: Arc<dyn StateBackend>) {
    let coordinator = with_seed_experts(backend, Duration::from_secs(30)).await;
    let decision = route(&coordinator, LEGAL).await;
    assert_eq!(
        decision.primary.as_deref(),
        Some("legal_consultant"),
        "{decision}"
    );

    coordinator
        .set_availability("legal_consultant", Availability::Offline)
        .await
        .unwrap();
    let decision = route(&coordinator, LEGAL).await;
    assert!(!names(&decision, "legal_consultant"), "{decision}");
    assert_eq!(
        coordinator.routing_status("legal_consultant").map(|s| s.0),
        Some(Availability::Offline)
    );

    coordinator
        .set_availability("legal_consultant", Availability::Available)
        .await
        .unwrap();
    let decision = route(&coordinator, LEGAL).await;
    assert_eq!(
        decision.primary.as_deref(),
        Some("legal_consultant"),
        "{decision}"
    );
}

async fn lapsed_heartbeats_are_never_chosen_and_come_back(backend: Arc<dyn StateBackend>) {
    let coordinator = with_seed_experts(backend, SHORT_TTL).await;
    // Everyone but the lawyer keeps heartbeating.
    let others: Vec<_> = seed_experts()
        .into_iter()
        .map(|e| e.id)
        .filter(|id| id != "legal_consultant")
        .collect();
    let keeper = {
        let coordinator = coordinator.clone();
        tokio::spawn(async move {
            loop {
                for id in &others {
                    coordinator.heartbeat(id).await.unwrap();
                }
                tokio::time::sleep(SHORT_TTL / 4).await;
            }
        })
    };
    let decision = route(&coordinator, LEGAL).await;
    assert_eq!(
        decision.primary.as_deref(),
        Some("legal_consultant"),
        "{decision}"
    );

    // From the moment the heartbeat lapses, no decision names the lawyer:
    // every route checks the heartbeats of the experts it names.
    tokio::time::sleep(SHORT_TTL * 2).await;
    for _ in 0..20 {
        let decision = route(&coordinator, LEGAL).await;
        assert!(!names(&decision, "legal_consultant"), "{decision}");
    }

    coordinator.heartbeat("legal_consultant").await.unwrap();
    eventually(
        &coordinator,
        LEGAL,
        "the lawyer is back after a heartbeat",
        |d| d.primary.as_deref() == Some("legal_consultant"),
    )
    .await;
    keeper.abort();
}

async fn lapses_reach_routing_through_the_sweeper_alone(backend: Arc<dyn StateBackend>) {
    let coordinator = Coordinator::builder(backend)
        .with_registry_config(
            RegistryConfig::default()
                .with_heartbeat_ttl(SHORT_TTL)
                .with_sweep_interval(Duration::from_millis(50)),
        )
        .with_liveness_check(false)
        // Long enough that only the sweeper's event can explain the change.
        .with_status_refresh(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    for expert in seed_experts() {
        coordinator.register_expert(&expert).await.unwrap();
    }
    let decision = route(&coordinator, LEGAL).await;
    assert_eq!(
        decision.primary.as_deref(),
        Some("legal_consultant"),
        "{decision}"
    );
    eventually(&coordinator, LEGAL, "the lapse reaches routing", |d| {
        !names(d, "legal_consultant")
    })
    .await;
    assert_eq!(
        coordinator.routing_status("legal_consultant").map(|s| s.0),
        Some(Availability::Offline)
    );
}

async fn registrations_route_at_once_and_removals_never(backend: Arc<dyn StateBackend>) {
    let coordinator = coordinator(backend, Duration::from_secs(30)).await;
    let decision = route(&coordinator, LEGAL).await;
    assert!(decision.primary.is_none(), "{decision}");

    let legal = seed_experts()
        .into_iter()
        .find(|e| e.id == "legal_consultant")
        .unwrap();
    coordinator.register_expert(&legal).await.unwrap();
    // Read your writes: no event round trip needed in this process.
    let decision = route(&coordinator, LEGAL).await;
    assert_eq!(
        decision.primary.as_deref(),
        Some("legal_consultant"),
        "{decision}"
    );

    coordinator
        .deregister_expert("legal_consultant")
        .await
        .unwrap();
    let decision = route(&coordinator, LEGAL).await;
    assert!(!names(&decision, "legal_consultant"), "{decision}");

    let err = coordinator.update_expert(&legal).await.unwrap_err();
    assert!(
        matches!(
            err,
            CoordinatorError::Registry(RegistryError::NotRegistered { .. })
        ),
        "{err}"
    );
}

async fn changes_made_by_another_coordinator_are_followed(backend: Arc<dyn StateBackend>) {
    let router = coordinator(Arc::clone(&backend), Duration::from_secs(30)).await;
    // The other coordinator refreshes rarely: only events can explain what
    // the first one sees.
    let other = Coordinator::builder(backend)
        .with_status_refresh(Duration::from_secs(3600))
        .with_sweeper(false)
        .build()
        .await
        .unwrap();
    for expert in seed_experts() {
        other.register_expert(&expert).await.unwrap();
    }
    eventually(&router, LEGAL, "another coordinator's registrations", |d| {
        d.primary.as_deref() == Some("legal_consultant")
    })
    .await;
    other
        .set_availability("legal_consultant", Availability::Offline)
        .await
        .unwrap();
    eventually(
        &router,
        LEGAL,
        "another coordinator's availability change",
        |d| !names(d, "legal_consultant"),
    )
    .await;
    other.deregister_expert("legal_consultant").await.unwrap();
    other
        .register_expert(
            &seed_experts()
                .into_iter()
                .find(|e| e.id == "legal_consultant")
                .unwrap(),
        )
        .await
        .unwrap();
    eventually(
        &router,
        LEGAL,
        "another coordinator's re-registration",
        |d| d.primary.as_deref() == Some("legal_consultant"),
    )
    .await;
}

async fn busy_experts_are_penalised(backend: Arc<dyn StateBackend>) {
    let coordinator = with_seed_experts(backend, Duration::from_secs(30)).await;
    let score = |d: &RouteDecision| {
        d.candidates
            .iter()
            .find(|c| c.expert == "legal_consultant")
            .map(|c| c.score)
            .unwrap()
    };
    let available = score(&route(&coordinator, LEGAL).await);
    coordinator
        .set_availability("legal_consultant", Availability::Busy)
        .await
        .unwrap();
    let busy = score(&route(&coordinator, LEGAL).await);
    assert!(busy < available, "busy {busy} vs available {available}");

    // Load comes from the registry's slots, picked up by the status refresh;
    // it counts against a declared limit.
    let mut legal = seed_experts()
        .into_iter()
        .find(|e| e.id == "legal_consultant")
        .unwrap();
    legal.max_concurrent = Some(4);
    coordinator.update_expert(&legal).await.unwrap();
    // The status refresh may apply a snapshot read before the update (on
    // Redis it takes a round trip), so `busy` can linger for a refresh.
    let available = score(
        &eventually(&coordinator, LEGAL, "the update is seen", |_| {
            coordinator.routing_status("legal_consultant") == Some((Availability::Available, 0))
        })
        .await,
    );
    let mut slots = Vec::new();
    for _ in 0..3 {
        slots.push(
            coordinator
                .registry()
                .acquire_slot("legal_consultant")
                .await
                .unwrap(),
        );
    }
    let loaded = eventually(&coordinator, LEGAL, "the load is seen", |_| {
        coordinator.routing_status("legal_consultant") == Some((Availability::Available, 3))
    })
    .await;
    assert!(
        score(&loaded) < available,
        "loaded {} vs available {available}",
        score(&loaded)
    );
    for slot in slots {
        slot.release().await.unwrap();
    }
}

#[tokio::test]
async fn a_coordinator_needs_no_experts_to_start() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("empty").unwrap());
    let coordinator = Coordinator::builder(backend).build().await.unwrap();
    assert!(coordinator.available_experts().await.unwrap().is_empty());
}
