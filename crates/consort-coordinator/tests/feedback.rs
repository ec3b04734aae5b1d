//! Learning from routing corrections through the coordinator: stored in the
//! backend, so every coordinator on it learns, at once in the one that was
//! told, when the announcement arrives in the others, and by replay in any
//! started later. On the memory backend and on a real Redis.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use consort_coordinator::{Coordinator, CoordinatorError};
use consort_protocol::{load_registry, seeds};
use consort_registry::RegistryError;
use consort_router::{RouteDecision, RouteRequest};
use consort_state::testkit::redis_url_or_skip;
use consort_state::{MemoryBackend, StateBackend};

const PLUMBER: &str = "Can you sort out the quote from the plumber?";
const FINANCE: &str = "finance_accountant";

async fn coordinator(backend: Arc<dyn StateBackend>) -> Coordinator {
    Coordinator::builder(backend)
        .with_status_refresh(Duration::from_secs(3600))
        .build()
        .await
        .unwrap()
}

async fn route(coordinator: &Coordinator) -> RouteDecision {
    coordinator
        .route(&RouteRequest::new(PLUMBER))
        .await
        .unwrap()
}

async fn corrections_reach_every_coordinator(backend: Arc<dyn StateBackend>) {
    let told = coordinator(Arc::clone(&backend)).await;
    for expert in load_registry(seeds::EXPERT_REGISTRY).unwrap() {
        told.register_expert(&expert).await.unwrap();
    }
    let other = coordinator(Arc::clone(&backend)).await;
    let before = route(&told).await;
    assert_ne!(before.primary.as_deref(), Some(FINANCE), "{before}");
    assert_ne!(route(&other).await.primary.as_deref(), Some(FINANCE));

    told.route_feedback("Pay the plumber's quote", FINANCE)
        .await
        .unwrap();
    told.route_feedback("Is this plumber quote fair?", FINANCE)
        .await
        .unwrap();

    // At once where it was told, and the decision says a correction counted.
    let after = route(&told).await;
    assert_eq!(after.primary.as_deref(), Some(FINANCE), "{after}");
    assert!(after.candidates[0].breakdown.learned > 0.0, "{after}");

    // When the announcement arrives in another coordinator.
    let mut learned = false;
    for _ in 0..100 {
        if route(&other).await.primary.as_deref() == Some(FINANCE) {
            learned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        learned,
        "the other coordinator never learned: {}",
        route(&other).await
    );

    // By replay in one started afterwards.
    let later = coordinator(backend).await;
    assert_eq!(route(&later).await, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_corrections_reach_every_coordinator() {
    corrections_reach_every_coordinator(Arc::new(MemoryBackend::new("learn").unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_corrections_reach_every_coordinator() {
    let Some(target) = redis_url_or_skip("consort-coordinator::feedback").await else {
        return;
    };
    corrections_reach_every_coordinator(Arc::new(target.backend().await)).await;
}

#[tokio::test]
async fn bad_corrections_are_refused_and_nothing_is_stored() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("learn").unwrap());
    let coordinator = coordinator(Arc::clone(&backend)).await;
    for expert in load_registry(seeds::EXPERT_REGISTRY).unwrap() {
        coordinator.register_expert(&expert).await.unwrap();
    }
    let err = coordinator
        .route_feedback(PLUMBER, "plumber")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoordinatorError::Registry(RegistryError::NotRegistered { .. })
        ),
        "{err}"
    );
    let err = coordinator.route_feedback("  ", FINANCE).await.unwrap_err();
    assert!(matches!(err, CoordinatorError::EmptyRequest), "{err}");
    assert!(
        backend
            .list("coord:", None, 10)
            .await
            .unwrap()
            .keys
            .is_empty()
    );
}
