//! The conformance suite against `MemoryBackend`, one test per case.

use std::time::Duration;

use consort_state::conformance::{self, BackendFactory, MemoryFactory};
use consort_state::{MemoryConfig, MemoryStore, StateBackend};

consort_state::conformance_tests!(|_test: &'static str| async { Some(MemoryFactory::new()) });

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_with_a_small_buffer() {
    let store = MemoryStore::with_config(MemoryConfig::default().with_event_buffer(64));
    let b = MemoryFactory::with_store(store).open().await;
    conformance::pubsub_lag_reported(b, 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all() {
    conformance::run_all(&MemoryFactory::new()).await;
}

#[test]
fn every_case_has_a_unique_name() {
    let mut names: Vec<&str> = conformance::CASES.iter().map(|c| c.name()).collect();
    let listed = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), listed);
    assert!(names.contains(&"batch_receipt"));
}

#[tokio::test(flavor = "current_thread")]
async fn works_on_a_current_thread_runtime() {
    conformance::basic_crud(MemoryFactory::new().open().await).await;
    conformance::pubsub_delivery(MemoryFactory::new().open().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_frees_expired_keys() {
    let store = MemoryStore::with_config(
        MemoryConfig::default().with_sweep_interval(Duration::from_millis(20)),
    );
    let b = store.namespace("sweep").unwrap();
    for i in 0..1000 {
        b.set(
            &format!("k{i}"),
            "v".into(),
            Some(Duration::from_millis(10)),
        )
        .await
        .unwrap();
    }
    b.set("kept", "v".into(), None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while b.stored_entries() > 1 {
        assert!(tokio::time::Instant::now() < deadline, "sweep did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(b.get("kept").await.unwrap().is_some());
}

#[test]
fn usable_without_a_runtime_for_construction() {
    // No tokio runtime here: opening must not panic (the sweeper is skipped).
    let store = MemoryStore::new();
    let b = store.namespace("no-runtime").unwrap();
    assert_eq!(b.namespace(), "no-runtime");
    assert!(store.namespace("bad namespace").is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn knows_when_nobody_listens() {
    let b = MemoryFactory::new().open().await;
    assert!(!b.may_have_subscribers("task:claimed"));
    let tasks = b.subscribe("task:*").await.unwrap();
    let again = b.subscribe("task:*").await.unwrap();
    assert!(b.may_have_subscribers("task:claimed"));
    assert!(!b.may_have_subscribers("file:locked"));
    drop(tasks);
    assert!(
        b.may_have_subscribers("task:claimed"),
        "the second subscription on the pattern is live"
    );
    drop(again);
    assert!(!b.may_have_subscribers("task:claimed"));
}

/// A namespace opened before any runtime exists is swept once written to
/// from one, and again from a second runtime after the first shut down.
#[test]
fn sweep_starts_with_the_first_expiring_write() {
    let store = MemoryStore::with_config(
        MemoryConfig::default().with_sweep_interval(Duration::from_millis(20)),
    );
    let b = store.namespace("opened-early").unwrap();
    for round in 0..2 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            b.set("kept", "v".into(), None).await.unwrap();
            for i in 0..100 {
                let key = format!("r{round}-k{i}");
                b.set(&key, "v".into(), Some(Duration::from_millis(10)))
                    .await
                    .unwrap();
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while b.stored_entries() > 1 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "round {round}: the sweep did not run"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
}
