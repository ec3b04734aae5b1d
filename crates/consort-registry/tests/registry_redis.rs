//! The registry cases on `RedisBackend` (private `redis-server` or
//! `CONSORT_REDIS_URL`; skipped with a notice when neither exists), plus two
//! registries in two processes over one Redis.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use consort_protocol::{Availability, ExpertId};
use consort_registry::RegistryChange;
use consort_state::testkit::redis_url_or_skip;
use consort_state::{RedisBackend, RedisConfig, StateBackend};

registry_cases!(|test: &'static str| async move {
    let target = redis_url_or_skip(&format!("registry_redis::{test}")).await?;
    let backend: Arc<dyn StateBackend> = Arc::new(target.backend().await);
    Some((target, backend))
});

/// Child mode is selected by these variables; without them the child test
/// below returns at once.
const CHILD_URL: &str = "CONSORT_REGISTRY_CHILD_URL";
const CHILD_NAMESPACE: &str = "CONSORT_REGISTRY_CHILD_NAMESPACE";
const CHILD_EXPERTS: [&str; 2] = ["child_finance", "child_design"];
/// Generous so a loaded machine does not drop the child's heartbeats.
const CHILD_TTL: Duration = Duration::from_millis(600);

/// Child half of `two_processes_share_experts`: registers experts and
/// heartbeats them until killed.
#[tokio::test]
async fn child_process_heartbeats() {
    let (Ok(url), Ok(namespace)) = (std::env::var(CHILD_URL), std::env::var(CHILD_NAMESPACE))
    else {
        return;
    };
    let backend = RedisBackend::connect(RedisConfig::new(url, namespace))
        .await
        .unwrap();
    let registry = common::registry(Arc::new(backend), CHILD_TTL, "child-process");
    for id in CHILD_EXPERTS {
        registry
            .register(&common::profile(id, Some(4)))
            .await
            .unwrap();
    }
    loop {
        tokio::time::sleep(CHILD_TTL / 4).await;
        for id in CHILD_EXPERTS {
            registry.heartbeat(id).await.unwrap();
        }
    }
}

/// Kills the child even when the parent test fails half-way.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn child_availability(
    registry: &consort_registry::ExpertRegistry,
) -> Vec<(ExpertId, Availability)> {
    registry
        .snapshot()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.availability_status))
        .collect()
}

async fn wait_until_all(registry: &consort_registry::ExpertRegistry, want: Availability) {
    let mut seen = Vec::new();
    let reached = tokio::time::timeout(common::PATIENCE, async {
        loop {
            seen = child_availability(registry).await;
            if seen.len() == CHILD_EXPERTS.len() && seen.iter().all(|(_, a)| *a == want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "child experts never all {want:?}; last snapshot: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_experts() {
    let Some(target) = redis_url_or_skip("registry_redis::two_processes_share_experts").await
    else {
        return;
    };
    let backend = target.backend().await;
    let namespace = backend.namespace().to_owned();
    let registry = common::registry(Arc::new(backend), CHILD_TTL, "parent-process");
    let mut watch = registry.watch().await.unwrap();
    let _sweeper = registry.spawn_sweeper().unwrap();

    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_heartbeats",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, target.url())
        .env(CHILD_NAMESPACE, &namespace)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);

    wait_until_all(&registry, Availability::Available).await;
    let ids: BTreeSet<ExpertId> = child_availability(&registry)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        ids,
        CHILD_EXPERTS.iter().map(|s| ExpertId::from(*s)).collect()
    );
    // Online across several TTLs: the child's heartbeats reach the parent's reads.
    tokio::time::sleep(CHILD_TTL * 3).await;
    assert!(
        child_availability(&registry)
            .await
            .iter()
            .all(|(_, a)| *a == Availability::Available)
    );
    // The parent can take work on the child's experts.
    let slot = registry.acquire_slot("child_finance").await.unwrap();
    assert_eq!(
        registry
            .get("child_finance")
            .await
            .unwrap()
            .unwrap()
            .current_load,
        1
    );
    slot.release().await.unwrap();

    child.0.kill().unwrap();
    child.0.wait().unwrap();
    wait_until_all(&registry, Availability::Offline).await;

    let mut expired = BTreeSet::new();
    tokio::time::timeout(common::PATIENCE, async {
        while expired.len() < CHILD_EXPERTS.len() {
            match watch.recv().await.expect("watch ended") {
                RegistryChange::Expired { expert_id, source } => {
                    assert_eq!(
                        source, "parent-process",
                        "only the parent's sweeper is alive"
                    );
                    expired.insert(expert_id);
                }
                RegistryChange::Lagged { missed } => panic!("lagged by {missed:?}"),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!("expert:expired not received for all child experts; got {expired:?}")
    });
}
