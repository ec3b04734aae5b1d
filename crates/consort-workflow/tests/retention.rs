//! `EngineConfig::retention`: the records of a finished run expire, those of
//! a run still going never do; on the memory backend and on a real Redis.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use consort_state::testkit::{random_namespace, redis_url_or_skip};
use consort_state::{MemoryBackend, RedisBackend, RedisConfig, StateBackend};
use consort_workflow::{Engine, EngineConfig, RunState, StepOutcome, WorkflowError};
use support::{Scripted, chain, done, graph};

const RETENTION: Duration = Duration::from_secs(1);

/// The run record and the records of a three-step run.
fn keys(run_id: &str) -> Vec<String> {
    let mut keys = vec![format!("wf:run:{run_id}"), format!("wf:run:{run_id}:spec")];
    keys.extend((1..=3).map(|n| format!("wf:run:{run_id}:step:{n}")));
    keys
}

async fn finished_runs_expire_and_others_stay(backend: Arc<dyn StateBackend>) {
    // Step 3 of run "asks" waits for a human; every other step completes.
    let executor = Scripted::new(|ctx| {
        let outcome = if ctx.run_id() == "asks" && ctx.step().number == 3 {
            StepOutcome::NeedsHuman {
                question: "go on?".into(),
            }
        } else {
            done(ctx)
        };
        (Duration::ZERO, outcome)
    });
    let config = EngineConfig::default().with_retention(RETENTION);
    let engine = Engine::new(Arc::clone(&backend), executor, config).unwrap();
    let workflow = graph(&chain(3));
    for (run_id, state) in [
        ("done", RunState::Completed),
        ("asks", RunState::WaitingForHuman),
    ] {
        let status = engine
            .new_run(&workflow)
            .with_run_id(run_id)
            .run_to_end()
            .await
            .unwrap();
        assert_eq!(status.state, state, "{run_id}");
    }

    let ttls = backend.time_to_live(&keys("done")).await.unwrap();
    let run_ttl = ttls[0].expect("the finished run's record expires");
    assert!(run_ttl <= RETENTION, "{run_ttl:?}");
    for (key, ttl) in keys("done").iter().zip(&ttls).skip(1) {
        let ttl = ttl.unwrap_or_else(|| panic!("{key} never expires"));
        assert!(
            ttl > RETENTION,
            "{key} expires before the run record: {ttl:?}"
        );
    }
    let kept = backend.time_to_live(&keys("asks")).await.unwrap();
    assert_eq!(kept, vec![None; 5], "a run waiting for a human is kept");

    // Readable until the retention passes, unknown afterwards.
    assert_eq!(
        engine.status("done").await.unwrap().state,
        RunState::Completed
    );
    tokio::time::sleep(RETENTION + Duration::from_millis(200)).await;
    match engine.status("done").await {
        Err(WorkflowError::RunNotFound { run_id }) => assert_eq!(run_id, "done"),
        other => panic!("the run outlived its retention: {other:?}"),
    }
    let waiting = engine.status("asks").await.unwrap();
    assert_eq!(waiting.state, RunState::WaitingForHuman);
}

#[tokio::test]
async fn on_the_memory_backend() {
    finished_runs_expire_and_others_stay(Arc::new(MemoryBackend::new("retention").unwrap())).await;
}

#[tokio::test]
async fn on_redis() {
    let Some(target) = redis_url_or_skip("retention::on_redis").await else {
        return;
    };
    let config = RedisConfig::new(target.url(), random_namespace("retention"));
    let backend = RedisBackend::connect(config).await.unwrap();
    finished_runs_expire_and_others_stay(Arc::new(backend)).await;
}
