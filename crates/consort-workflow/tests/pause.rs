//! Pausing runs (an engine shutting down): in-flight attempts settle within
//! the grace period or are abandoned, the lease is released, and a resume
//! continues at once without re-running completed steps.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use consort_state::{MemoryBackend, StateBackend};
use consort_workflow::{Engine, EngineConfig, RunState, StepExecutor, StepState, WorkflowError};
use support::{Scripted, dag, done, graph};

fn backend() -> Arc<dyn StateBackend> {
    Arc::new(MemoryBackend::new("pause").unwrap())
}

fn new_engine(backend: &Arc<dyn StateBackend>, executor: Arc<dyn StepExecutor>) -> Engine {
    let config = EngineConfig::default().with_concurrency(2);
    Engine::new(Arc::clone(backend), executor, config).unwrap()
}

/// Step 1, then eight steps that need only step 1.
fn fan() -> consort_protocol::WorkflowSpec {
    let steps: Vec<(u32, &[u32])> = std::iter::once((1, &[][..]))
        .chain((2..=9).map(|i| (i, &[1u32][..])))
        .collect();
    dag(&steps)
}

#[tokio::test(start_paused = true)]
async fn a_paused_run_settles_releases_its_lease_and_resumes_at_once() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_millis(100), done(ctx)));
    let engine = new_engine(&backend, exec.clone());
    let spec = fan();
    let handle = engine
        .new_run(&graph(&spec))
        .with_run_id("p")
        .start()
        .await
        .unwrap();
    // Step 1 done at 100 ms, steps 2 and 3 in flight until 200 ms.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(engine.pause("p", Duration::from_secs(1)));
    let paused = handle.wait().await.unwrap();
    assert_eq!(paused.state, RunState::Paused);
    // The two attempts in flight were let finish; nothing new started.
    assert_eq!(paused.steps_in(StepState::Completed), vec![1, 2, 3]);
    assert_eq!(
        paused.steps_in(StepState::Pending),
        (4..=9).collect::<Vec<_>>()
    );
    assert!(backend.current_lease("wf:lease:p").await.unwrap().is_none());
    assert_eq!(engine.status("p").await.unwrap().state, RunState::Paused);
    assert_eq!(engine.wait("p").await.unwrap().state, RunState::Paused);

    // Another engine takes it over at once; completed steps never run again.
    let other = new_engine(&backend, exec.clone());
    let done = other.resume("p").run_to_end().await.unwrap();
    assert_eq!(done.state, RunState::Completed);
    for step in 1..=9 {
        assert_eq!(exec.executions(step).len(), 1, "step {step}");
    }
}

#[tokio::test(start_paused = true)]
async fn attempts_still_running_after_the_grace_period_are_abandoned() {
    let backend = backend();
    // Step 1 is quick, the others take a minute.
    let exec = Scripted::new(|ctx| {
        let delay = if ctx.step().number == 1 { 10 } else { 60_000 };
        (Duration::from_millis(delay), done(ctx))
    });
    let engine = new_engine(&backend, exec.clone());
    let spec = fan();
    let handle = engine
        .new_run(&graph(&spec))
        .with_run_id("slow")
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(engine.pause_all(Duration::from_millis(500)), 1);
    let paused = handle.wait().await.unwrap();
    assert_eq!(paused.state, RunState::Paused);
    // Steps 2 and 3 were dropped mid-call: still running, attempt 1.
    assert_eq!(paused.steps_in(StepState::Running), vec![2, 3]);
    assert_eq!(paused.step(2).unwrap().attempts, 1);

    let resumed = engine.resume("slow").start().await.unwrap();
    let done = resumed.wait().await.unwrap();
    assert_eq!(done.state, RunState::Completed);
    let attempts: Vec<u32> = exec.executions(2).iter().map(|c| c.attempt).collect();
    assert_eq!(attempts, vec![1, 2]);
    assert_eq!(exec.executions(1).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn only_runs_this_engine_drives_can_be_paused_and_paused_runs_can_be_cancelled() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_millis(100), done(ctx)));
    let engine = new_engine(&backend, exec);
    assert!(!engine.pause("nobody", Duration::ZERO));
    assert_eq!(engine.pause_all(Duration::ZERO), 0);
    let spec = fan();
    let handle = engine
        .new_run(&graph(&spec))
        .with_run_id("c")
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(engine.pause("c", Duration::ZERO));
    assert_eq!(handle.wait().await.unwrap().state, RunState::Paused);
    engine.cancel("c").await.unwrap();
    let status = engine.status("c").await.unwrap();
    assert_eq!(status.state, RunState::Cancelled);
    assert!(matches!(
        engine.resume("c").run_to_end().await,
        Err(WorkflowError::RunFinished {
            state: RunState::Cancelled,
            ..
        })
    ));
}
