//! The registry through Redis faults, each on a private server with AOF
//! (`testkit::durable_server_or_skip`): a crash and restart, a 3 s freeze
//! (SIGSTOP) and `CLIENT KILL` of every connection. A heartbeat issued
//! during the fault succeeds once Redis is back, the sweeper keeps
//! reporting lapses, and the watch reports the gap and keeps delivering.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use consort_protocol::{Availability, ExpertProfile};
use consort_registry::{ExpertRegistry, RegistryChange, RegistryConfig, RegistryWatch};
use consort_state::testkit::{RedisServer, durable_server_or_skip, random_namespace};
use consort_state::{RedisBackend, RedisConfig};

/// Short enough that a lapse is reported soon after the fault, long enough
/// that a loaded 2-core machine keeps `steady` alive outside the fault.
const TTL: Duration = Duration::from_millis(1_500);
const TIMEOUT: Duration = Duration::from_millis(500);
/// A liveness bound, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL, then a new process on the same port and AOF after 1 s.
    Restart,
    /// SIGSTOP for 3 s, then SIGCONT.
    Freeze,
    /// `CLIENT KILL` of every command and pub/sub connection.
    KillClients,
}

async fn registry(server: &RedisServer) -> ExpertRegistry {
    let cfg = RedisConfig::new(server.url(), random_namespace("registry-fault"))
        .with_connect_timeout(TIMEOUT)
        .with_response_timeout(TIMEOUT);
    let backend = RedisBackend::connect(cfg).await.unwrap();
    ExpertRegistry::new(
        Arc::new(backend),
        RegistryConfig::default()
            .with_heartbeat_ttl(TTL)
            .with_sweep_interval(Duration::from_millis(100))
            .with_source("fault-test"),
    )
}

/// Waits for a change concerning `id` matching `want`, calling `poke` every
/// half second meanwhile (an event published while the watch was
/// reconnecting is lost, as pub/sub is at-most-once); returns whether a gap
/// (`Lagged { missed: None }`) was reported on the way.
async fn wait_for<F, Fut>(
    watch: &mut RegistryWatch,
    id: &str,
    want: impl Fn(&RegistryChange) -> bool,
    poke: F,
) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut gap = false;
    tokio::time::timeout(PATIENCE, async {
        loop {
            poke().await;
            let Ok(change) = tokio::time::timeout(Duration::from_millis(500), watch.recv()).await
            else {
                continue;
            };
            match change.expect("the watch ended") {
                RegistryChange::Lagged { missed: None } => gap = true,
                c if c.expert_id() == Some(id) && want(&c) => return,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no matching change for `{id}` within {PATIENCE:?}"));
    gap
}

async fn ride_through(test: &str, fault: Fault) {
    let Some(server) = durable_server_or_skip(test).await else {
        return;
    };
    let registry = registry(&server).await;
    let mut watch = registry.watch().await.unwrap();
    let _sweeper = registry.spawn_sweeper().unwrap();
    for id in ["steady", "fading"] {
        registry
            .register(&ExpertProfile::new(id, vec!["finance".into()]))
            .await
            .unwrap();
    }

    // The fault, with a heartbeat for `steady` issued in the middle of it.
    let heartbeat = {
        let registry = registry.clone();
        async move { registry.heartbeat("steady").await }
    };
    let server = match fault {
        Fault::Restart => {
            let mut server = server;
            server.kill();
            let beat = tokio::spawn(heartbeat);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let server = tokio::task::spawn_blocking(move || {
                server.start_again();
                server
            })
            .await
            .unwrap();
            beat.await
                .unwrap()
                .expect("heartbeat rode through the restart");
            server
        }
        Fault::Freeze => {
            server.pause();
            let beat = tokio::spawn(heartbeat);
            tokio::time::sleep(Duration::from_secs(3)).await;
            server.resume();
            beat.await
                .unwrap()
                .expect("heartbeat rode through the freeze");
            server
        }
        Fault::KillClients => {
            assert!(
                server.kill_clients() >= 2,
                "command and pub/sub connections"
            );
            heartbeat.await.expect("heartbeat rode through CLIENT KILL");
            server
        }
    };
    // Later heartbeats keep `steady` online while `fading` and `late` lapse.
    let keeper = {
        let registry = registry.clone();
        tokio::spawn(async move {
            loop {
                registry.heartbeat("steady").await.unwrap();
                tokio::time::sleep(TTL / 5).await;
            }
        })
    };

    // The watch survived: changes made after the fault arrive (re-made
    // until one does, since the first may fall into the reconnection gap).
    let newcomer = ExpertProfile::new("newcomer", vec!["legal".into()]);
    let gap = wait_for(
        &mut watch,
        "newcomer",
        |c| matches!(c, RegistryChange::Registered { .. }),
        || async { registry.register(&newcomer).await.unwrap() },
    )
    .await;
    if matches!(fault, Fault::Restart | Fault::KillClients) {
        assert!(
            gap,
            "{fault:?} dropped the watch's connection: the gap must be reported"
        );
    }
    // The sweeper survived: it reports a lapse that starts after the fault.
    registry
        .register(&ExpertProfile::new("late", vec!["tax".into()]))
        .await
        .unwrap();
    wait_for(
        &mut watch,
        "late",
        |c| matches!(c, RegistryChange::Expired { .. }),
        || async {},
    )
    .await;
    let steady = registry.get("steady").await.unwrap().unwrap();
    assert_eq!(steady.availability_status, Availability::Available);
    let fading = registry.get("fading").await.unwrap().unwrap();
    assert_eq!(fading.availability_status, Availability::Offline);
    keeper.abort();
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_watch_and_heartbeats_survive_a_restart() {
    ride_through(
        "sweeper_watch_and_heartbeats_survive_a_restart",
        Fault::Restart,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_watch_and_heartbeats_survive_a_freeze() {
    ride_through(
        "sweeper_watch_and_heartbeats_survive_a_freeze",
        Fault::Freeze,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_watch_and_heartbeats_survive_client_kill() {
    ride_through(
        "sweeper_watch_and_heartbeats_survive_client_kill",
        Fault::KillClients,
    )
    .await;
}
