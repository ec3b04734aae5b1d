//! Following runs from another engine: `Engine::wait` and `Engine::watch`,
//! on memory and on Redis, with and without the events they follow.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use consort_state::testkit::{random_namespace, redis_url_or_skip};
use consort_state::{MemoryBackend, RedisBackend, RedisConfig, StateBackend};
use consort_workflow::{
    Durability, Engine, EngineConfig, ProgressKind, RunProgress, RunState, SimulatedExecutor,
    StepOutcome, WorkflowError,
};
use support::{Scripted, chain, dag, done, graph};

fn slow() -> Arc<SimulatedExecutor> {
    Arc::new(SimulatedExecutor::new().with_delay(Duration::from_millis(20)))
}

fn config() -> EngineConfig {
    EngineConfig::default().with_watch_interval(Duration::from_millis(50))
}

/// Every update of `run_id` until the watch ends.
async fn updates(engine: &Engine, run_id: &str) -> Vec<RunProgress> {
    let mut watch = engine.watch(run_id).await.unwrap();
    let mut seen = Vec::new();
    while let Some(update) = watch.recv().await {
        seen.push(update.unwrap());
    }
    seen
}

/// A driver and a watcher on `driver_backend` and `watcher_backend` (two
/// connections to one store): the watcher sees each step complete, counts
/// them up to N with the steps' names, and its watch ends with the run.
async fn watch_from_elsewhere(
    driver_backend: Arc<dyn StateBackend>,
    watcher_backend: Arc<dyn StateBackend>,
) {
    let driver = Engine::new(driver_backend, slow(), config()).unwrap();
    let watcher = Engine::new(watcher_backend, slow(), config()).unwrap();
    let spec = chain(6);
    let graph = graph(&spec);
    let handle = driver
        .new_run(&graph)
        .with_run_id("far")
        .start()
        .await
        .unwrap();
    let seen = updates(&watcher, "far").await;

    let first = seen.first().unwrap();
    assert_eq!(first.kind, ProgressKind::Attached);
    assert_eq!(first.total, 6);
    let last = seen.last().unwrap();
    assert_eq!(last.kind, ProgressKind::Completed);
    assert_eq!(last.run_state, RunState::Completed);
    assert_eq!((last.completed, last.total), (6, 6));
    let completions: Vec<(u32, String, usize)> = seen
        .iter()
        .filter(|u| u.kind == ProgressKind::StepCompleted)
        .map(|u| {
            let name = u.step_name.as_deref().unwrap().to_owned();
            (u.step.unwrap(), name, u.completed)
        })
        .collect();
    // The watch may attach after the first completions, never after the last.
    assert!(!completions.is_empty());
    for (step, name, completed) in &completions {
        assert_eq!(name, &format!("step {step}"));
        // A chain completes its steps in order: step n is the n-th.
        assert_eq!(*completed, *step as usize);
    }
    assert_eq!(completions.last().unwrap().0, 6);
    assert_eq!(handle.wait().await.unwrap().state, RunState::Completed);
    assert_eq!(
        watcher.wait("far").await.unwrap().state,
        RunState::Completed
    );
}

#[tokio::test]
async fn a_run_is_watched_from_another_engine_on_memory() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("watch").unwrap());
    watch_from_elsewhere(Arc::clone(&backend), backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_watched_from_another_connection_on_redis() {
    let Some(target) = redis_url_or_skip("a_run_is_watched_from_another_connection_on_redis").await
    else {
        return;
    };
    let namespace = random_namespace("watch");
    let connect = || async {
        let config = RedisConfig::new(target.url(), namespace.clone());
        Arc::new(RedisBackend::connect(config).await.unwrap()) as Arc<dyn StateBackend>
    };
    watch_from_elsewhere(connect().await, connect().await).await;
}

#[tokio::test]
async fn wait_does_not_need_the_events() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("quiet").unwrap());
    let quiet = config().with_publish_events(false);
    let driver = Engine::new(Arc::clone(&backend), slow(), quiet).unwrap();
    let watcher = Engine::new(backend, slow(), config()).unwrap();
    let spec = chain(4);
    let graph = graph(&spec);
    let handle = driver
        .new_run(&graph)
        .with_run_id("q")
        .start()
        .await
        .unwrap();
    // Only the record says the run is over: the watch reads it every 50 ms.
    let status = watcher.wait("q").await.unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(status.percent_complete, 100.0);
    let seen = updates(&watcher, "q").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].run_state, RunState::Completed);
    handle.wait().await.unwrap();
}

#[tokio::test]
async fn wait_returns_when_the_run_needs_a_human() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("human").unwrap());
    let exec = Scripted::new(|ctx| {
        if ctx.step().number == 2 && ctx.inputs().human_answer().is_none() {
            let question = "go on?".to_owned();
            return (
                Duration::from_millis(20),
                StepOutcome::NeedsHuman { question },
            );
        }
        (Duration::from_millis(20), done(ctx))
    });
    let driver = Engine::new(Arc::clone(&backend), exec, config()).unwrap();
    let watcher = Engine::new(backend, slow(), config()).unwrap();
    let spec = chain(3);
    let graph = graph(&spec);
    let handle = driver
        .new_run(&graph)
        .with_run_id("h")
        .start()
        .await
        .unwrap();
    let status = watcher.wait("h").await.unwrap();
    assert_eq!(status.state, RunState::WaitingForHuman);
    assert_eq!(status.step(2).unwrap().question.as_deref(), Some("go on?"));
    handle.wait().await.unwrap();
}

/// `wait` right after an answer follows the run the answer drives on: it
/// does not return the question's stale state from before the new driver
/// recorded anything. An MCP server asking a human mid-call answers and
/// waits again exactly like this; a stale `waiting_for_human` made it ask
/// the same question twice and fail on the second answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_right_after_an_answer_follows_the_answered_run() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("answer").unwrap());
    let exec = Scripted::new(|ctx| {
        if ctx.step().number == 1 && ctx.inputs().human_answer().is_none() {
            let question = "which date?".to_owned();
            return (Duration::ZERO, StepOutcome::NeedsHuman { question });
        }
        (Duration::ZERO, done(ctx))
    });
    let engine = Engine::new(backend, exec, config()).unwrap();
    let spec = chain(2);
    let graph = graph(&spec);
    for round in 0..50 {
        let run_id = format!("answer-{round}");
        let first = engine
            .new_run(&graph)
            .with_run_id(&run_id)
            .start()
            .await
            .unwrap();
        let waiting = engine.wait(&run_id).await.unwrap();
        assert_eq!(waiting.state, RunState::WaitingForHuman, "round {round}");
        let answered = engine
            .resume(&run_id)
            .with_human_answer(1, serde_json::json!("monday"))
            .start()
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let after = engine.wait(&run_id).await.unwrap();
        assert_eq!(after.state, RunState::Completed, "round {round}");
        assert_eq!(answered.wait().await.unwrap().state, RunState::Completed);
        assert_eq!(first.wait().await.unwrap().state, RunState::WaitingForHuman);
    }
}

#[tokio::test]
async fn unknown_runs_cannot_be_watched() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("none").unwrap());
    let engine = Engine::new(backend, slow(), config()).unwrap();
    assert!(matches!(
        engine.watch("nobody").await,
        Err(WorkflowError::RunNotFound { .. })
    ));
    assert!(matches!(
        engine.wait("nobody").await,
        Err(WorkflowError::RunNotFound { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_run_uses_its_own_settings() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("settings").unwrap());
    let exec = Scripted::new(|ctx| (Duration::from_millis(100), done(ctx)));
    let engine = Engine::new(backend, exec.clone(), config().with_concurrency(8)).unwrap();
    // Step 1, then six steps that need only step 1.
    let fan: Vec<(u32, &[u32])> = std::iter::once((1, &[][..]))
        .chain((2..=7).map(|i| (i, &[1u32][..])))
        .collect();
    let spec = dag(&fan);
    let status = engine
        .new_run(&graph(&spec))
        .with_settings(|s| s.with_concurrency(2))
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(exec.max_in_flight.load(Ordering::SeqCst), 2);

    let err = engine
        .new_run(&graph(&spec))
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
}

#[tokio::test]
async fn a_run_started_watched_misses_no_update() {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("from-start").unwrap());
    // Instant steps: a watch begun after the start would miss most of them.
    let engine = Engine::new(Arc::clone(&backend), Scripted::ok(), config()).unwrap();
    for durability in [Durability::Steps, Durability::None] {
        let spec = chain(5);
        let (handle, mut watch) = engine
            .new_run(&graph(&spec))
            .with_settings(|s| s.with_durability(durability))
            .start_watched()
            .await
            .unwrap();
        let mut kinds = Vec::new();
        let mut completed = Vec::new();
        while let Some(update) = watch.recv().await {
            let update = update.unwrap();
            kinds.push(update.kind);
            if update.kind == ProgressKind::StepCompleted {
                completed.push((update.step.unwrap(), update.completed));
            }
        }
        assert_eq!(
            kinds.first(),
            Some(&ProgressKind::Attached),
            "{durability:?}"
        );
        assert_eq!(kinds.get(1), Some(&ProgressKind::Started), "{durability:?}");
        assert_eq!(
            kinds.last(),
            Some(&ProgressKind::Completed),
            "{durability:?}"
        );
        assert_eq!(
            completed,
            vec![(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)],
            "{durability:?}"
        );
        assert_eq!(handle.wait().await.unwrap().state, RunState::Completed);
    }
}
