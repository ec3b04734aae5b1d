//! Engine behaviour on the memory backend: ordering, parallelism, retries,
//! timeouts, failure policies, validations, humans, cancellation, fencing,
//! events.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use consort_protocol::{load_workflow, seeds};
use consort_state::{Delivery, MemoryBackend, MemoryStore, StateBackend};
use consort_workflow::{
    Durability, Engine, EngineConfig, FailurePolicy, JsonMap, RetryPolicy, RunState,
    SimulatedExecutor, StepExecutor, StepKind, StepOutcome, StepState, WorkflowError,
};
use serde_json::json;
use support::{Scripted, chain, dag, done, graph, workflow};

fn backend() -> Arc<dyn StateBackend> {
    Arc::new(MemoryBackend::new("wf-test").unwrap())
}

fn config() -> EngineConfig {
    EngineConfig::default().with_retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(10))
            .with_max_backoff(Duration::from_millis(100)),
    )
}

fn engine(
    backend: &Arc<dyn StateBackend>,
    executor: Arc<dyn StepExecutor>,
    config: EngineConfig,
) -> Engine {
    Engine::new(Arc::clone(backend), executor, config).unwrap()
}

fn params() -> JsonMap {
    let mut p = JsonMap::new();
    p.insert("client".into(), json!("acme"));
    p
}

#[tokio::test]
async fn seed_workflow_runs_in_order_with_inputs_and_validations() {
    let backend = backend();
    let exec = Scripted::ok();
    let engine = engine(&backend, exec.clone(), config());
    let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap();
    let status = engine
        .new_run(&graph(&spec))
        .with_params(params())
        .with_run_id("m1")
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(*exec.finished.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    let calls = exec.calls();
    // Step 2 is validated by finance after its execution, with a key of its own.
    let step2: Vec<_> = calls.iter().filter(|c| c.step == 2).collect();
    assert_eq!(step2.len(), 2);
    assert!(!step2[0].validation && step2[1].validation);
    assert_eq!(step2[0].key, "m1:2");
    assert_eq!(step2[1].key, "m1:2:check:0");
    // Inputs: the run parameters and the outputs of the dependency.
    assert_eq!(step2[0].inputs["params"]["client"], "acme");
    assert_eq!(step2[0].inputs["step_1"]["done"], 1);
    assert!(!step2[0].inputs.contains_key("step_3"));
    // Step 4 has two collaboration points.
    assert_eq!(
        calls.iter().filter(|c| c.step == 4 && c.validation).count(),
        2
    );
    // What status reads back from the backend equals what the run returned.
    assert_eq!(engine.status("m1").await.unwrap(), status);
}

#[tokio::test(start_paused = true)]
async fn independent_steps_run_concurrently_up_to_the_limit() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_millis(100), done(ctx)));
    let fan: Vec<(u32, &[u32])> = std::iter::once((1, &[][..]))
        .chain((2..=11).map(|i| (i, &[1u32][..])))
        .collect();
    let engine = engine(&backend, exec.clone(), config().with_concurrency(4));
    let status = engine
        .new_run(&graph(&dag(&fan)))
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(exec.max_in_flight.load(Ordering::SeqCst), 4);
    assert_eq!(exec.calls().len(), 11);
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_are_retried_with_new_attempt_numbers() {
    let backend = backend();
    let exec = Scripted::new(|ctx| {
        if ctx.step().number == 2 && ctx.attempt() < 3 {
            (
                Duration::ZERO,
                StepOutcome::retry(format!("flaky {}", ctx.attempt())),
            )
        } else {
            (Duration::ZERO, done(ctx))
        }
    });
    let engine = engine(&backend, exec.clone(), config());
    let status = engine
        .new_run(&graph(&chain(3)))
        .with_run_id("r")
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Completed);
    let step2 = status.step(2).unwrap();
    assert_eq!(step2.attempts, 3);
    assert_eq!(step2.error, None);
    let attempts: Vec<u32> = exec.executions(2).iter().map(|c| c.attempt).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert!(exec.executions(2).iter().all(|c| c.key == "r:2"));
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_fail_fast_cancelling_and_skipping_the_rest() {
    let backend = backend();
    // 1 -> 2 fails for good while 3 (independent, slow) is in flight; 4 after 2.
    let exec = Scripted::new(|ctx| match ctx.step().number {
        2 => (Duration::ZERO, StepOutcome::retry("down")),
        3 => (Duration::from_secs(60), done(ctx)),
        _ => (Duration::ZERO, done(ctx)),
    });
    let spec = dag(&[(1, &[]), (2, &[1]), (3, &[]), (4, &[2])]);
    let engine = engine(&backend, exec.clone(), config());
    let status = engine.new_run(&graph(&spec)).run_to_end().await.unwrap();
    assert_eq!(status.state, RunState::Failed);
    assert_eq!(
        status.error.as_deref(),
        Some("step 2 (step 2) failed: down")
    );
    assert_eq!(status.step(2).unwrap().attempts, 3);
    assert_eq!(status.step(2).unwrap().state, StepState::Failed);
    assert_eq!(status.step(3).unwrap().state, StepState::Cancelled);
    assert_eq!(status.step(4).unwrap().state, StepState::Skipped);
    assert_eq!(status.step(1).unwrap().state, StepState::Completed);
}

#[tokio::test(start_paused = true)]
async fn continue_on_failure_runs_independent_steps_and_skips_dependents() {
    let backend = backend();
    let exec = Scripted::new(|ctx| match ctx.step().number {
        2 => (Duration::ZERO, StepOutcome::fail("bad input")),
        _ => (Duration::from_millis(5), done(ctx)),
    });
    let spec = dag(&[
        (1, &[]),
        (2, &[1]),
        (3, &[1]),
        (4, &[2]),
        (5, &[4]),
        (6, &[3]),
    ]);
    let cfg = config().with_failure_policy(FailurePolicy::ContinueOnFailure);
    let engine = engine(&backend, exec.clone(), cfg);
    let status = engine.new_run(&graph(&spec)).run_to_end().await.unwrap();
    assert_eq!(status.state, RunState::Failed);
    assert_eq!(status.steps_in(StepState::Completed), vec![1, 3, 6]);
    assert_eq!(status.steps_in(StepState::Skipped), vec![4, 5]);
    // Not retryable: one attempt only.
    assert_eq!(status.step(2).unwrap().attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_retryable_failure() {
    let backend = backend();
    let exec = Scripted::new(|ctx| {
        let delay = if ctx.attempt() == 1 {
            Duration::from_secs(10)
        } else {
            Duration::ZERO
        };
        (delay, done(ctx))
    });
    let spec =
        workflow(json!([{"step": 1, "name": "slow", "primary_expert": "x", "timeout_ms": 1000}]));
    let engine = engine(&backend, exec.clone(), config());
    let status = engine.new_run(&graph(&spec)).run_to_end().await.unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(status.step(1).unwrap().attempts, 2);

    // With one attempt allowed, the timeout fails the step and says so.
    let spec = workflow(
        json!([{"step": 1, "name": "slow", "primary_expert": "x", "timeout_ms": 1000,
        "retry": {"max_attempts": 1}}]),
    );
    let status = engine.new_run(&graph(&spec)).run_to_end().await.unwrap();
    assert_eq!(status.state, RunState::Failed);
    assert!(status.error.unwrap().contains("timed out after 1s"));
}

/// The attempts of a run share one timer for their deadlines: a later
/// attempt with a shorter limit brings it forward, and an attempt that ended
/// before its deadline leaves a ring that must time nothing out.
#[tokio::test(start_paused = true)]
async fn attempts_in_flight_time_out_at_their_own_deadlines() {
    let backend = backend();
    let t0 = tokio::time::Instant::now();
    let started = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&started);
    let exec = Scripted::new(move |ctx| {
        let (step, attempt) = (ctx.step().number, ctx.attempt());
        seen.lock().unwrap().push((step, attempt, t0.elapsed()));
        let delay = match (step, attempt) {
            (1, _) => Duration::from_secs(5),
            (2, 1) => Duration::from_secs(30),
            (3, _) => Duration::from_secs(15),
            _ => Duration::ZERO,
        };
        (delay, done(ctx))
    });
    let spec = workflow(json!([
        {"step": 1, "name": "ten", "primary_expert": "x", "timeout_ms": 10_000, "depends_on": []},
        {"step": 2, "name": "two", "primary_expert": "x", "timeout_ms": 2_000, "depends_on": []},
        {"step": 3, "name": "twenty", "primary_expert": "x", "timeout_ms": 20_000, "depends_on": []},
        // An edge, so that the three above run side by side rather than
        // chained by number.
        {"step": 4, "name": "join", "primary_expert": "x", "depends_on": [1, 2, 3]}
    ]));
    let engine = engine(&backend, exec, config());
    let status = engine.new_run(&graph(&spec)).run_to_end().await.unwrap();

    assert_eq!(status.state, RunState::Completed, "{status:?}");
    let attempts: Vec<u32> = [1, 2, 3, 4]
        .iter()
        .map(|&n| status.step(n).unwrap().attempts)
        .collect();
    assert_eq!(attempts, [1, 2, 1, 1], "only step 2 ran past its limit");
    let retried_at = started
        .lock()
        .unwrap()
        .iter()
        .find(|(step, attempt, _)| (*step, *attempt) == (2, 2))
        .map(|(_, _, at)| *at)
        .unwrap();
    // Timed out at 2 s (not at step 1's 10 s), then the backoff (at most
    // 100 ms here).
    assert!(
        retried_at >= Duration::from_secs(2) && retried_at < Duration::from_secs(3),
        "step 2 retried at {retried_at:?}"
    );
}

#[tokio::test]
async fn executor_panics_fail_the_step_not_the_engine() {
    let backend = backend();
    let exec = Scripted::new(|ctx| {
        assert!(ctx.step().number != 2, "boom in step 2");
        (Duration::ZERO, done(ctx))
    });
    let engine = engine(&backend, exec, config());
    let status = engine
        .new_run(&graph(&chain(3)))
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Failed);
    assert!(
        status
            .error
            .unwrap()
            .contains("executor panicked: boom in step 2")
    );
}

fn validated(policy: &str) -> consort_protocol::WorkflowSpec {
    workflow(json!([
        {"step": 1, "name": "draft", "primary_expert": "writer", "on_validation_failure": policy,
         "collaboration_points": [{"with_expert": "editor", "data_shared": ["text"], "validation_needed": "style"}]},
        {"step": 2, "name": "publish", "primary_expert": "writer", "depends_on": [1]}
    ]))
}

/// The editor rejects the first attempt's draft.
fn picky_editor() -> Arc<Scripted> {
    Scripted::new(|ctx| match ctx.kind() {
        StepKind::Validate { point, .. } if ctx.attempt() == 1 => {
            assert_eq!(point.with_expert, "editor");
            assert_eq!(ctx.expert(), "editor");
            (Duration::ZERO, StepOutcome::fail("too long"))
        }
        _ => (Duration::ZERO, done(ctx)),
    })
}

#[tokio::test(start_paused = true)]
async fn failed_validation_retries_escalates_or_fails_per_step_policy() {
    let backend = backend();

    let exec = picky_editor();
    let status = engine(&backend, exec.clone(), config())
        .new_run(&graph(&validated("retry")))
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(status.step(1).unwrap().attempts, 2);

    let status = engine(&backend, picky_editor(), config())
        .new_run(&graph(&validated("fail")))
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Failed);
    assert_eq!(
        status.error.as_deref(),
        Some("step 1 (draft) failed: style by editor failed: too long")
    );

    let engine = engine(&backend, picky_editor(), config());
    let status = engine
        .new_run(&graph(&validated("escalate")))
        .with_run_id("esc")
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::WaitingForHuman);
    let step1 = status.step(1).unwrap();
    assert_eq!(step1.state, StepState::WaitingForHuman);
    assert_eq!(
        step1.question.as_deref(),
        Some("style by editor failed: too long")
    );
    let status = engine
        .answer_human("esc", 1, json!("ship it"))
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Completed);
}

#[tokio::test]
async fn a_human_answer_resumes_the_run_and_reaches_the_step() {
    let backend = backend();
    let exec = Scripted::new(|ctx| {
        if ctx.step().number == 2 && ctx.inputs().human_answer().is_none() {
            return (
                Duration::ZERO,
                StepOutcome::NeedsHuman {
                    question: "which budget?".into(),
                },
            );
        }
        let mut out = JsonMap::new();
        if let Some(answer) = ctx.inputs().human_answer() {
            out.insert("budget".into(), answer.clone());
            assert_eq!(ctx.inputs().human_question(), Some("which budget?"));
        }
        (Duration::ZERO, StepOutcome::Completed(out))
    });
    let engine = engine(&backend, exec.clone(), config());
    let status = engine
        .new_run(&graph(&chain(3)))
        .with_run_id("h")
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::WaitingForHuman);
    assert_eq!(status.steps_in(StepState::Pending), vec![3]);
    // Paused runs hold no lease: another engine may take them.
    assert!(backend.current_lease("wf:lease:h").await.unwrap().is_none());
    assert_eq!(
        engine.status("h").await.unwrap().state,
        RunState::WaitingForHuman
    );

    let err = engine.answer_human("h", 1, json!(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            WorkflowError::NotWaitingForHuman {
                step: 1,
                state: StepState::Completed,
                ..
            }
        ),
        "{err}"
    );
    let err = engine.answer_human("h", 9, json!(1)).await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::UnknownStep { step: 9, .. }),
        "{err}"
    );

    let other = Engine::new(Arc::clone(&backend), exec.clone(), config()).unwrap();
    let status = other.answer_human("h", 2, json!(5000)).await.unwrap();
    assert_eq!(status.state, RunState::Completed);
    let step2 = status.step(2).unwrap();
    assert_eq!(step2.attempts, 2);
    assert_eq!(step2.outputs.as_ref().unwrap()["budget"], 5000);
    assert_eq!(
        exec.executions(1).len(),
        1,
        "completed steps never run again"
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_running_run() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_secs(3600), done(ctx)));
    let engine = engine(&backend, exec, config());
    let handle = engine
        .new_run(&graph(&dag(&[(1, &[]), (2, &[]), (3, &[1, 2])])))
        .with_run_id("c")
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        engine
            .status("c")
            .await
            .unwrap()
            .steps_in(StepState::Running),
        vec![1, 2]
    );
    engine.cancel("c").await.unwrap();
    let status = handle.wait().await.unwrap();
    assert_eq!(status.state, RunState::Cancelled);
    assert_eq!(status.steps_in(StepState::Cancelled), vec![1, 2]);
    assert_eq!(status.steps_in(StepState::Skipped), vec![3]);
    assert_eq!(engine.status("c").await.unwrap(), status);
    assert!(matches!(
        engine.cancel("c").await,
        Err(WorkflowError::RunFinished {
            state: RunState::Cancelled,
            ..
        })
    ));
    assert!(matches!(
        engine.resume("c").run_to_end().await,
        Err(WorkflowError::RunFinished { .. })
    ));
}

/// Steps that answer at once never make the driver wait: it must still
/// let the thread's other tasks run, and notice a cancel between steps.
#[tokio::test]
async fn cancel_reaches_a_run_whose_steps_never_wait() {
    let backend = backend();
    let exec = Scripted::ok();
    let engine = engine(&backend, exec.clone(), config());
    let handle = engine
        .new_run(&graph(&chain(5_000)))
        .with_run_id("busy")
        .start()
        .await
        .unwrap();
    // One thread: this only runs again once the driver gives way.
    tokio::task::yield_now().await;
    engine.cancel("busy").await.unwrap();
    let status = handle.wait().await.unwrap();
    assert_eq!(status.state, RunState::Cancelled);
    let done = status.steps_in(StepState::Completed).len();
    assert!(done > 0 && done < 5_000, "{done} steps completed");
    assert_eq!(exec.calls().len(), done);
}

#[tokio::test]
async fn cancel_reaches_a_run_driven_by_another_engine() {
    let backend = backend();
    let exec = Scripted::new(|ctx| (Duration::from_millis(20), done(ctx)));
    let cfg = config().with_lease_ttl(Duration::from_millis(300));
    let driver = engine(&backend, exec.clone(), cfg.clone());
    let handle = driver
        .new_run(&graph(&chain(1000)))
        .with_run_id("far")
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    engine(&backend, exec, cfg).cancel("far").await.unwrap();
    let status = handle.wait().await.unwrap();
    assert_eq!(status.state, RunState::Cancelled);
    assert!(status.steps_in(StepState::Completed).len() < 1000);
}

#[tokio::test]
async fn existing_ids_and_bad_ids_are_rejected() {
    let backend = backend();
    let engine = engine(&backend, Scripted::ok(), config());
    engine
        .new_run(&graph(&chain(2)))
        .with_run_id("dup")
        .run_to_end()
        .await
        .unwrap();
    let err = engine
        .new_run(&graph(&chain(2)))
        .with_run_id("dup")
        .run_to_end()
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::RunExists { .. }), "{err}");
    // The refused start left the existing run's lease free.
    assert!(
        backend
            .current_lease("wf:lease:dup")
            .await
            .unwrap()
            .is_none()
    );
    let err = engine
        .new_run(&graph(&chain(2)))
        .with_run_id("a b")
        .run_to_end()
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::InvalidRunId { .. }), "{err}");
    assert!(matches!(
        engine.status("nope").await,
        Err(WorkflowError::RunNotFound { .. })
    ));
    // Resuming a completed run changes nothing.
    let before = engine.status("dup").await.unwrap();
    assert_eq!(engine.resume("dup").run_to_end().await.unwrap(), before);
}

#[tokio::test]
async fn an_engine_that_lost_its_lease_cannot_write() {
    let backend = backend();
    let gate = Arc::new(tokio::sync::Notify::new());
    let g = Arc::clone(&gate);
    struct Gated(Arc<tokio::sync::Notify>);
    #[async_trait::async_trait]
    impl StepExecutor for Gated {
        async fn execute(&self, ctx: consort_workflow::StepContext) -> StepOutcome {
            if ctx.step().number == 2 && ctx.attempt() == 1 {
                self.0.notified().await;
            }
            done(&ctx)
        }
    }
    let cfg = config().with_lease_ttl(Duration::from_secs(60));
    let a = engine(&backend, Arc::new(Gated(g)), cfg.clone());
    let handle = a
        .new_run(&graph(&chain(3)))
        .with_run_id("fence")
        .start()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Someone breaks A's lease (as an expiry would) and B takes the run over.
    let lease = backend
        .current_lease("wf:lease:fence")
        .await
        .unwrap()
        .unwrap();
    assert!(backend.release_lease(&lease).await.unwrap());
    let b = backend
        .acquire_lease("wf:lease:fence", "engine-b", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    gate.notify_one();
    let err = handle.wait().await.unwrap_err();
    assert!(matches!(err, WorkflowError::LeaseLost { .. }), "{err}");
    // A's completion of step 2 was refused.
    let status = a.status("fence").await.unwrap();
    assert_eq!(status.step(2).unwrap().state, StepState::Running);
    backend.release_lease(&b).await.unwrap();
    let status = a.resume("fence").run_to_end().await.unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(status.step(2).unwrap().attempts, 2);
}

#[tokio::test]
async fn two_engines_racing_to_resume_one_run_exactly_one_drives_it() {
    let store = MemoryStore::new();
    let backend: Arc<dyn StateBackend> = Arc::new(store.namespace("race").unwrap());
    let slow = Arc::new(SimulatedExecutor::new().with_delay(Duration::from_millis(30)));
    // A first engine dies mid-run (its driving task is aborted, as if the
    // process died): its lease is no longer renewed and lapses.
    let cfg = config().with_lease_ttl(Duration::from_millis(300));
    let run = tokio::spawn({
        let dead = engine(&backend, slow.clone(), cfg.clone());
        async move {
            dead.new_run(&graph(&chain(5)))
                .with_run_id("orphan")
                .run_to_end()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(45)).await;
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let early = engine(&backend, slow.clone(), cfg.clone());
    assert!(matches!(
        early.resume("orphan").run_to_end().await,
        Err(WorkflowError::RunOwned { .. })
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;

    let a = engine(
        &backend,
        slow.clone(),
        cfg.clone().with_owner_id("engine-a"),
    );
    let b = engine(&backend, slow.clone(), cfg.with_owner_id("engine-b"));
    let (ra, rb) = tokio::join!(
        a.resume("orphan").run_to_end(),
        b.resume("orphan").run_to_end()
    );
    let (won, lost) = match (ra, rb) {
        (Ok(s), Err(e)) | (Err(e), Ok(s)) => (s, e),
        other => panic!("exactly one engine must drive the run: {other:?}"),
    };
    assert_eq!(won.state, RunState::Completed);
    match lost {
        WorkflowError::RunOwned {
            run_id,
            holder,
            lease_lapses_in,
        } => {
            assert_eq!(run_id, "orphan");
            // The winner holds a fresh lease of 300 ms.
            let left = lease_lapses_in.expect("the holder's lease has a TTL");
            assert!(left <= Duration::from_millis(300), "{left:?}");
            assert!(holder == "engine-a" || holder == "engine-b", "{holder}");
        }
        e => panic!("expected RunOwned, got {e}"),
    }
}

#[tokio::test]
async fn progress_events_are_published_per_step() {
    let backend = backend();
    let mut sub = backend.subscribe("workflow:*").await.unwrap();
    let engine = engine(&backend, Scripted::ok(), config());
    engine
        .new_run(&graph(&chain(2)))
        .with_run_id("ev")
        .run_to_end()
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 6 {
        match tokio::time::timeout(Duration::from_secs(5), sub.recv())
            .await
            .unwrap()
        {
            Some(Delivery::Message { topic, payload }) => {
                let event: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                assert_eq!(event["type"], topic.as_str());
                assert_eq!(event["data"]["run_id"], "ev");
                seen.push((topic, event["data"]["step"].as_str().map(str::to_owned)));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected = [
        ("workflow:started", None),
        ("workflow:step_started", Some("1")),
        ("workflow:step_completed", Some("1")),
        ("workflow:step_started", Some("2")),
        ("workflow:step_completed", Some("2")),
        ("workflow:completed", None),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(t, s)| ((*t).to_owned(), s.map(str::to_owned)))
        .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn ephemeral_runs_write_nothing() {
    let backend = backend();
    let cfg = config()
        .with_durability(Durability::None)
        .with_publish_events(false);
    let engine = engine(&backend, Scripted::ok(), cfg);
    let status = engine
        .new_run(&graph(&chain(50)))
        .with_run_id("eph")
        .run_to_end()
        .await
        .unwrap();
    assert_eq!(status.state, RunState::Completed);
    assert_eq!(status.percent_complete, 100.0);
    assert!(matches!(
        engine.status("eph").await,
        Err(WorkflowError::RunNotFound { .. })
    ));
    let keys = backend.list("", None, 100).await.unwrap();
    assert!(keys.keys.is_empty(), "{:?}", keys.keys);
}

#[tokio::test]
async fn a_definition_too_large_for_the_backend_is_refused_before_anything_is_written() {
    let small_values = consort_state::MemoryConfig::default().with_max_value_bytes(2048);
    let backend: Arc<dyn StateBackend> = Arc::new(
        MemoryStore::with_config(small_values)
            .namespace("small")
            .unwrap(),
    );
    let engine = engine(&backend, Scripted::ok(), config());
    let fits = graph(&chain(2));
    engine.check_definition(&fits).unwrap();
    let big = graph(&chain(200));
    let too_large = |err: &WorkflowError| {
        matches!(err, WorkflowError::DefinitionTooLarge { workflow, size, limit: 2048 }
            if workflow == "chain" && *size > 2048)
    };
    assert!(too_large(&engine.check_definition(&big).unwrap_err()));
    let err = engine
        .new_run(&big)
        .with_run_id("big")
        .run_to_end()
        .await
        .unwrap_err();
    assert!(too_large(&err), "{err}");
    assert!(matches!(
        engine.status("big").await,
        Err(WorkflowError::RunNotFound { .. })
    ));
    assert!(
        backend
            .current_lease("wf:lease:big")
            .await
            .unwrap()
            .is_none()
    );
    // The parameters are stored with the definition: they count too.
    let mut params = JsonMap::new();
    params.insert("blob".into(), json!("x".repeat(4096)));
    let err = engine
        .new_run(&fits)
        .with_params(params)
        .run_to_end()
        .await
        .unwrap_err();
    assert!(too_large(&err), "{err}");
}
