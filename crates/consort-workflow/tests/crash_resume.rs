//! A run killed with SIGKILL mid-way resumes in another process without
//! running any completed step again.
//!
//! The child process is this test executable itself, started with
//! `CONSORT_WF_CRASH_CHILD=1` so that [`crash_child_process`] drives the run;
//! in ordinary test runs that test returns at once.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consort_state::testkit::{random_namespace, redis_url_or_skip};
use consort_state::{RedisBackend, RedisConfig, StateBackend};
use consort_workflow::{
    Engine, EngineConfig, RunState, SimulatedExecutor, StepState, WorkflowError, WorkflowGraph,
};

const CHILD: &str = "CONSORT_WF_CRASH_CHILD";
const URL: &str = "CONSORT_WF_CRASH_URL";
const NAMESPACE: &str = "CONSORT_WF_CRASH_NAMESPACE";
const RUN: &str = "crash";
const STEPS: u32 = 60;
const CONCURRENCY: usize = 2;

fn ladder() -> WorkflowGraph {
    support::graph(&support::ladder(STEPS))
}

fn config() -> EngineConfig {
    EngineConfig::default()
        .with_concurrency(CONCURRENCY)
        .with_lease_ttl(Duration::from_millis(600))
}

async fn connect(url: &str, namespace: &str) -> Arc<dyn StateBackend> {
    Arc::new(
        RedisBackend::connect(RedisConfig::new(url, namespace))
            .await
            .unwrap(),
    )
}

#[test]
fn crash_child_process() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let url = std::env::var(URL).unwrap();
    let namespace = std::env::var(NAMESPACE).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let backend = connect(&url, &namespace).await;
        let executor = SimulatedExecutor::new()
            .with_delay(Duration::from_millis(20))
            .counting_in(Arc::clone(&backend));
        let engine = Engine::new(backend, Arc::new(executor), config()).unwrap();
        engine
            .new_run(&ladder())
            .with_run_id(RUN)
            .run_to_end()
            .await
            .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumes_without_rerunning_completed_steps() {
    let Some(target) =
        redis_url_or_skip("a_killed_run_resumes_without_rerunning_completed_steps").await
    else {
        return;
    };
    let namespace = random_namespace("crash");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child_process", "--exact", "--nocapture"])
        .env(CHILD, "1")
        .env(URL, target.url())
        .env(NAMESPACE, &namespace)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let backend = connect(target.url(), &namespace).await;
    let executor = SimulatedExecutor::new().counting_in(Arc::clone(&backend));
    let engine = Engine::new(Arc::clone(&backend), Arc::new(executor), config()).unwrap();

    // Let the child complete some steps, then kill it without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the child made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child exited before it was killed"
        );
        if let Ok(status) = engine.status(RUN).await
            && status.steps_in(StepState::Completed).len() >= 10
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let at_kill = engine.status(RUN).await.unwrap();
    assert_eq!(at_kill.state, RunState::Running);
    let completed_at_kill = at_kill.steps_in(StepState::Completed);
    let in_flight_at_kill = at_kill.steps_in(StepState::Running);
    assert!(completed_at_kill.len() >= 10 && completed_at_kill.len() < STEPS as usize);
    assert!(!in_flight_at_kill.is_empty() && in_flight_at_kill.len() <= CONCURRENCY);

    // The dead child's lease blocks a resume until it lapses.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut refused = 0;
    let status = loop {
        match engine.resume(RUN).run_to_end().await {
            Err(WorkflowError::RunOwned { .. }) if Instant::now() < deadline => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => break other.unwrap(),
        }
    };
    assert!(
        refused > 0,
        "the dead child's lease should have blocked the first resume"
    );
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(status.steps_in(StepState::Completed).len(), STEPS as usize);

    let mut ran_twice = Vec::new();
    for step in 1..=STEPS {
        let count = SimulatedExecutor::executions(backend.as_ref(), &format!("{RUN}:{step}"))
            .await
            .unwrap();
        assert!(count >= 1, "step {step} never ran");
        if count > 1 {
            ran_twice.push(step);
        }
        let before = at_kill.step(step).unwrap();
        let after = status.step(step).unwrap();
        if completed_at_kill.contains(&step) {
            assert_eq!(count, 1, "completed step {step} ran again");
            assert_eq!(after, before, "completed step {step} changed");
        }
        if in_flight_at_kill.contains(&step) {
            assert_eq!(
                after.attempts,
                before.attempts + 1,
                "step {step} resumed with the next attempt"
            );
        } else {
            assert_eq!(after.attempts, 1, "step {step}");
        }
    }
    // Only a step in flight at the kill may have run twice.
    assert!(
        ran_twice.iter().all(|s| in_flight_at_kill.contains(s)),
        "{ran_twice:?} vs {in_flight_at_kill:?}"
    );
    assert!(ran_twice.len() <= CONCURRENCY);
}
