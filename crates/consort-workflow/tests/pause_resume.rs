//! Pausing runs (an engine shutting down): in-flight attempts settle within
//! the grace period or are abandoned, the lease is released, and a resume
//! continues at once without re-running completed steps, with the settings
//! stored with the run.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use consort_state::{MemoryBackend, StateBackend};
use consort_workflow::{
    Engine, EngineConfig, FailurePolicy, RunState, StepExecutor, StepState, WorkflowError,
};
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

#[tokio::test(start_paused = true)]
async fn a_resume_keeps_the_runs_settings_unless_told_and_records_a_change() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_millis(100), done(ctx)));
    // Started with a concurrency of 1 (an expert's rate limit), paused early.
    let first = new_engine(&backend, exec.clone());
    let spec = fan();
    let handle = first
        .new_run(&graph(&spec))
        .with_run_id("limited")
        .with_settings(|s| s.with_concurrency(1))
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let status = first.status("limited").await.unwrap();
    let owner = status.owner.expect("a driven run has an owner");
    assert_eq!(owner.holder, first.owner_id());
    assert!(owner.lease_lapses_in <= Duration::from_secs(15));
    assert_eq!(status.settings.unwrap().concurrency, 1);
    first.pause("limited", Duration::from_secs(1));
    let paused = handle.wait().await.unwrap();
    assert_eq!(paused.state, RunState::Paused);
    assert!(first.status("limited").await.unwrap().owner.is_none());

    // An engine whose default is 16 continues with the run's 1.
    let other = Engine::new(Arc::clone(&backend), exec.clone(), EngineConfig::default()).unwrap();
    let resumed = other.resume("limited").start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(other.pause("limited", Duration::from_secs(1)));
    let paused = resumed.wait().await.unwrap();
    assert_eq!(exec.max_in_flight.load(Ordering::SeqCst), 1);
    assert!(paused.settings_changes.is_empty());

    // An explicit override applies and is recorded.
    let done = other
        .resume("limited")
        .with_settings(|s| {
            s.with_concurrency(3)
                .with_failure_policy(FailurePolicy::ContinueOnFailure)
        })
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(done.state, RunState::Completed);
    assert_eq!(exec.max_in_flight.load(Ordering::SeqCst), 3);
    let status = other.status("limited").await.unwrap();
    assert_eq!(status.settings.unwrap().concurrency, 3);
    let [change] = status.settings_changes.as_slice() else {
        panic!("one change expected: {:?}", status.settings_changes);
    };
    assert_eq!(
        (change.before.concurrency, change.after.concurrency),
        (1, 3)
    );
    assert_eq!(change.by, other.owner_id());
    for step in 1..=9 {
        assert_eq!(exec.executions(step).len(), 1, "step {step}");
    }
}

#[tokio::test]
async fn a_resume_cannot_change_durability_or_break_the_settings() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_millis(100), done(ctx)));
    let engine = new_engine(&backend, exec);
    let spec = fan();
    let handle = engine
        .new_run(&graph(&spec))
        .with_run_id("strict")
        .start()
        .await
        .unwrap();
    engine.pause("strict", Duration::ZERO);
    handle.wait().await.unwrap();
    let err = engine
        .resume("strict")
        .with_settings(|s| s.with_durability(consort_workflow::Durability::None))
        .run_to_end()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WorkflowError::InvalidConfig {
                field: "durability",
                ..
            }
        ),
        "{err}"
    );
    let err = engine
        .resume("strict")
        .with_settings(|s| s.with_concurrency(0))
        .run_to_end()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WorkflowError::InvalidConfig {
                field: "concurrency",
                ..
            }
        ),
        "{err}"
    );
    // Refusals leave the run as it was, free to resume.
    let done = engine.resume("strict").run_to_end().await.unwrap();
    assert_eq!(done.state, RunState::Completed);
}

#[tokio::test]
async fn a_resume_may_wait_for_a_dead_holders_lease_to_lapse() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_millis(400), done(ctx)));
    let ttl = Duration::from_millis(300);
    let config = EngineConfig::default().with_lease_ttl(ttl);
    let dead = Engine::new(Arc::clone(&backend), exec.clone(), config.clone()).unwrap();
    let spec = fan();
    let graph = graph(&spec);
    // The driving task dies mid-run without releasing the lease.
    let driving = {
        let dead = dead.clone();
        let graph = graph.clone();
        tokio::spawn(async move {
            dead.new_run(&graph)
                .with_run_id("orphan")
                .run_to_end()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    driving.abort();
    let _ = driving.await;

    let heir = Engine::new(backend, exec, config).unwrap();
    match heir.resume("orphan").run_to_end().await {
        Err(WorkflowError::RunOwned {
            holder,
            lease_lapses_in: Some(left),
            ..
        }) => {
            assert_eq!(holder, dead.owner_id());
            assert!(left <= ttl, "{left:?}");
        }
        other => panic!("expected RunOwned with a lapse time, got {other:?}"),
    }
    let started = std::time::Instant::now();
    let done = heir
        .resume("orphan")
        .with_lease_wait(Duration::from_secs(5))
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(done.state, RunState::Completed);
    // It waited for the lapse, not for the whole allowance.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_resume_waiting_for_a_live_holder_gives_up_after_its_allowance() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_secs(10), done(ctx)));
    let config = EngineConfig::default().with_lease_ttl(Duration::from_millis(150));
    let live = Engine::new(Arc::clone(&backend), exec.clone(), config.clone()).unwrap();
    let spec = fan();
    let handle = live
        .new_run(&graph(&spec))
        .with_run_id("busy")
        .start()
        .await
        .unwrap();
    let other = Engine::new(backend, exec, config).unwrap();
    let started = std::time::Instant::now();
    let err = other
        .resume("busy")
        .with_lease_wait(Duration::from_millis(600))
        .run_to_end()
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::RunOwned { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(600));
    live.cancel("busy").await.unwrap();
    handle.wait().await.unwrap();
}
