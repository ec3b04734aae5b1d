//! Workflows through the coordinator: definitions validated against the
//! registry, runs started by name, followed and answered from another
//! coordinator on the same backend (memory, and a real Redis).

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use async_trait::async_trait;
use consort_coordinator::{Coordinator, CoordinatorError};
use consort_protocol::{WorkflowSpec, load_registry, load_workflow, seeds};
use consort_state::testkit::redis_url_or_skip;
use consort_state::{MemoryBackend, StateBackend};
use consort_workflow::{
    JsonMap, ProgressKind, RunState, SimulatedExecutor, StepContext, StepExecutor, StepKind,
    StepOutcome, StepState,
};
use serde_json::json;

/// Step 2 asks a human for the budget, then completes with the answer.
struct AsksForBudget;

#[async_trait]
impl StepExecutor for AsksForBudget {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        if ctx.step().number == 2 && *ctx.kind() == StepKind::Execute {
            return match ctx.inputs().human_answer() {
                Some(answer) => {
                    let mut outputs = JsonMap::new();
                    outputs.insert("budget".into(), answer.clone());
                    StepOutcome::Completed(outputs)
                }
                None => StepOutcome::NeedsHuman {
                    question: "What budget may we spend?".into(),
                },
            };
        }
        SimulatedExecutor::new().execute(ctx).await
    }
}

async fn coordinator(backend: Arc<dyn StateBackend>) -> Coordinator {
    let coordinator = Coordinator::builder(backend)
        .with_executor(Arc::new(AsksForBudget))
        .build()
        .await
        .unwrap();
    for expert in load_registry(seeds::EXPERT_REGISTRY).unwrap() {
        coordinator.register_expert(&expert).await.unwrap();
    }
    coordinator
}

fn marketing() -> WorkflowSpec {
    load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap()
}

async fn runs_are_followed_and_answered_from_another_coordinator(backend: Arc<dyn StateBackend>) {
    let driver = coordinator(Arc::clone(&backend)).await;
    let observer = coordinator(backend).await;
    let spec = marketing();
    let name = spec.workflow_name.clone();
    driver.add_workflow(spec).await.unwrap();

    let handle = driver.start_workflow(&name, JsonMap::new()).await.unwrap();
    let run_id = handle.run_id().to_owned();
    let mut watch = observer.watch_workflow(&run_id).await.unwrap();
    let paused = observer.await_workflow(&run_id).await.unwrap();
    assert_eq!(paused.state, RunState::WaitingForHuman);
    let asking = paused.step(2).unwrap();
    assert_eq!(asking.state, StepState::WaitingForHuman);
    assert_eq!(
        asking.question.as_deref(),
        Some("What budget may we spend?")
    );
    handle.wait().await.unwrap();

    // Answered through the other coordinator, which drives the rest.
    observer
        .answer_workflow(&run_id, 2, json!(30_000))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let done = driver.await_workflow(&run_id).await.unwrap();
    assert_eq!(done.state, RunState::Completed, "{done:?}");
    assert_eq!(
        done.step(2).unwrap().outputs.as_ref().unwrap()["budget"],
        json!(30_000)
    );
    assert_eq!(
        driver.workflow_status(&run_id).await.unwrap().state,
        RunState::Completed
    );

    // The watch saw the steps complete, counted n of N, and ended.
    let mut completed = Vec::new();
    while let Some(update) = watch.recv().await {
        let update = update.unwrap();
        if update.kind == ProgressKind::StepCompleted {
            assert_eq!(update.total, done.steps.len());
            completed.push(update.completed);
        }
    }
    assert!(!completed.is_empty());
    assert!(completed.windows(2).all(|w| w[0] < w[1]), "{completed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_runs_are_followed_and_answered_from_another_coordinator() {
    runs_are_followed_and_answered_from_another_coordinator(Arc::new(
        MemoryBackend::new("wf").unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_runs_are_followed_and_answered_from_another_coordinator() {
    let Some(target) = redis_url_or_skip("consort-coordinator::workflows").await else {
        return;
    };
    runs_are_followed_and_answered_from_another_coordinator(Arc::new(target.backend().await)).await;
}

#[tokio::test]
async fn definitions_are_checked_against_the_registry() {
    let coordinator = coordinator(Arc::new(MemoryBackend::new("wf").unwrap())).await;
    let mut spec = marketing();
    spec.workflow_steps[1].primary_expert = "ghost_writer".into();
    let err = coordinator.add_workflow(spec).await.unwrap_err();
    let CoordinatorError::InvalidWorkflow { problems, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(problems[0].path(), "workflow_steps[1].primary_expert");
    assert!(err.to_string().contains("ghost_writer"), "{err}");

    coordinator.add_workflow(marketing()).await.unwrap();
    let err = coordinator
        .start_workflow("no_such_flow", JsonMap::new())
        .await
        .unwrap_err();
    let CoordinatorError::UnknownWorkflow { known, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(known, &[marketing().workflow_name]);
    assert_eq!(coordinator.workflows().len(), 1);
}
