//! Redis faults in the middle of a run. Each test starts its own
//! redis-server with an append-only file (fsync always) in a temp dir,
//! drives the 60-step ladder (two interleaved chains, 50 ms simulated steps,
//! two steps in flight), injects one fault once ten steps are done, and
//! checks with the executor's per-attempt records that the run completes, no
//! step completed before the fault runs again, and re-executions are no more
//! than the steps that were in flight.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use consort_state::testkit::{RedisServer, durable_server_or_skip, random_namespace};
use consort_state::{RedisBackend, RedisConfig, StateBackend};
use consort_workflow::{
    Engine, EngineConfig, RunHandle, RunState, RunStatus, SimulatedExecutor, StepState,
    WorkflowError,
};

const STEPS: u32 = 60;
const CONCURRENCY: usize = 2;

/// An engine on `url` whose executor records every execution there.
async fn connect(
    url: &str,
    namespace: &str,
    config: EngineConfig,
) -> (Arc<dyn StateBackend>, Engine) {
    let backend: Arc<dyn StateBackend> = Arc::new(
        RedisBackend::connect(RedisConfig::new(url, namespace))
            .await
            .unwrap(),
    );
    let executor = SimulatedExecutor::new()
        .with_delay(Duration::from_millis(50))
        .counting_in(Arc::clone(&backend));
    let engine = Engine::new(Arc::clone(&backend), Arc::new(executor), config).unwrap();
    (backend, engine)
}

fn config() -> EngineConfig {
    EngineConfig::default().with_concurrency(CONCURRENCY)
}

/// Starts the ladder and returns once at least ten steps are done, with the
/// status at that point.
async fn start_and_progress(engine: &Engine, run_id: &str) -> (RunHandle, RunStatus) {
    let graph = support::graph(&support::ladder(STEPS));
    let handle = engine
        .new_run(&graph)
        .with_run_id(run_id)
        .start()
        .await
        .unwrap();
    loop {
        let status = engine.status(run_id).await.unwrap();
        if status.steps_in(StepState::Completed).len() >= 10 {
            return (handle, status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `fault` on the server without blocking the engine's tasks.
async fn inject(
    server: RedisServer,
    fault: impl FnOnce(&mut RedisServer) + Send + 'static,
) -> RedisServer {
    tokio::task::spawn_blocking(move || {
        let mut server = server;
        fault(&mut server);
        server
    })
    .await
    .unwrap()
}

/// The run completed; steps completed before the fault ran once; every step
/// ran; the re-executions are no more than the steps in flight at the fault.
async fn assert_rode_through(
    backend: &dyn StateBackend,
    run_id: &str,
    before: &RunStatus,
    after: &RunStatus,
) {
    assert_eq!(after.state, RunState::Completed, "{:?}", after.error);
    let completed_before = before.steps_in(StepState::Completed);
    let in_flight_before = before.steps_in(StepState::Running).len();
    assert!(in_flight_before <= CONCURRENCY);
    let mut again = 0;
    for step in 1..=STEPS {
        let runs = SimulatedExecutor::executions(backend, &format!("{run_id}:{step}"))
            .await
            .unwrap();
        assert!(runs >= 1, "step {step} never ran");
        if completed_before.contains(&step) {
            assert_eq!(
                runs, 1,
                "step {step} completed before the fault and ran again"
            );
        }
        again += runs - 1;
    }
    assert!(
        again <= CONCURRENCY,
        "{again} re-executions, at most {CONCURRENCY} steps were in flight"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_rides_through_a_redis_restart() {
    let Some(server) = durable_server_or_skip("a_run_rides_through_a_redis_restart").await else {
        return;
    };
    let namespace = random_namespace("fault");
    let (backend, engine) = connect(&server.url(), &namespace, config()).await;
    let (handle, before) = start_and_progress(&engine, "restart").await;
    // Down for 3 s, then back with its append-only file.
    let _server = inject(server, |server| {
        server.kill();
        std::thread::sleep(Duration::from_secs(3));
        server.start_again();
    })
    .await;
    let after = handle.wait().await.unwrap();
    assert_rode_through(backend.as_ref(), "restart", &before, &after).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_rides_through_a_frozen_redis() {
    let Some(server) = durable_server_or_skip("a_run_rides_through_a_frozen_redis").await else {
        return;
    };
    let namespace = random_namespace("fault");
    let (backend, engine) = connect(&server.url(), &namespace, config()).await;
    let (handle, before) = start_and_progress(&engine, "frozen").await;
    // SIGSTOP for 3 s: requests time out (2 s), some after they were sent.
    let _server = inject(server, |server| {
        server.pause();
        std::thread::sleep(Duration::from_secs(3));
        server.resume();
    })
    .await;
    let after = handle.wait().await.unwrap();
    assert_rode_through(backend.as_ref(), "frozen", &before, &after).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_rides_through_killed_connections() {
    let Some(server) = durable_server_or_skip("a_run_rides_through_killed_connections").await
    else {
        return;
    };
    let namespace = random_namespace("fault");
    let (backend, engine) = connect(&server.url(), &namespace, config()).await;
    let (handle, before) = start_and_progress(&engine, "killed").await;
    let _server = inject(server, |server| {
        assert!(server.kill_clients() > 0);
    })
    .await;
    let after = handle.wait().await.unwrap();
    assert_rode_through(backend.as_ref(), "killed", &before, &after).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_lapses_in_an_outage_stops_the_run_for_a_resume() {
    let Some(server) =
        durable_server_or_skip("a_lease_that_lapses_in_an_outage_stops_the_run_for_a_resume").await
    else {
        return;
    };
    let namespace = random_namespace("fault");
    let short = config().with_lease_ttl(Duration::from_secs(1));
    let (backend, engine) = connect(&server.url(), &namespace, short).await;
    let (handle, before) = start_and_progress(&engine, "lapsed").await;
    // Frozen for longer than the lease lasts.
    let server = inject(server, |server| {
        server.pause();
        std::thread::sleep(Duration::from_secs(3));
        server.resume();
    })
    .await;
    let err = handle.wait().await.unwrap_err();
    assert!(matches!(err, WorkflowError::LeaseLapsed { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("lease lapsed while the backend was unreachable"),
        "{err}"
    );
    // Another engine continues it from its last checkpoint.
    let (_, heir) = connect(&server.url(), &namespace, config()).await;
    let after = heir.resume("lapsed").run_to_end().await.unwrap();
    assert_rode_through(backend.as_ref(), "lapsed", &before, &after).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_without_its_data_is_named_as_such() {
    let Some(server) =
        durable_server_or_skip("a_redis_restarted_without_its_data_is_named_as_such").await
    else {
        return;
    };
    // This one keeps nothing across a restart.
    drop(server);
    let server = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let namespace = random_namespace("fault");
    let (_, engine) = connect(&server.url(), &namespace, config()).await;
    let (handle, _) = start_and_progress(&engine, "amnesia").await;
    let _server = inject(server, RedisServer::restart).await;
    let err = handle.wait().await.unwrap_err();
    assert!(matches!(err, WorkflowError::RecordsGone { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "run \"amnesia\": the run's records are gone from the backend; was Redis restarted without persistence?"
    );
}
