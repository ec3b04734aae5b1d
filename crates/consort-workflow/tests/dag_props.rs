//! Property: any DAG runs every step exactly once, each after all of its
//! dependencies completed, whatever the concurrency limit.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use consort_protocol::StepNumber;
use consort_state::MemoryBackend;
use consort_workflow::{
    Engine, EngineConfig, JsonMap, RunState, StepContext, StepExecutor, StepOutcome, WorkflowGraph,
};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Start(StepNumber),
    End(StepNumber),
}

#[derive(Default)]
struct Recorder {
    log: Mutex<Vec<Mark>>,
}

#[async_trait]
impl StepExecutor for Recorder {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        let n = ctx.step().number;
        self.log.lock().unwrap().push(Mark::Start(n));
        // Interleave steps differently depending on the step.
        for _ in 0..(n * 7 % 4) {
            tokio::task::yield_now().await;
        }
        self.log.lock().unwrap().push(Mark::End(n));
        StepOutcome::Completed(JsonMap::new())
    }
}

/// `deps[j]` = steps (1-based) that step `j + 1` depends on, all lower.
fn dags() -> impl Strategy<Value = (Vec<BTreeSet<StepNumber>>, usize)> {
    (1usize..24).prop_flat_map(|n| {
        let deps = proptest::collection::vec(proptest::collection::btree_set(0u32..24, 0..4), n);
        (deps, 1usize..6).prop_map(|(raw, limit)| {
            let deps = raw
                .into_iter()
                .enumerate()
                .map(|(j, set)| {
                    let step = u32::try_from(j).unwrap() + 1;
                    set.into_iter().filter(|d| *d >= 1 && *d < step).collect()
                })
                .collect();
            (deps, limit)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_step_runs_once_after_its_dependencies((deps, limit) in dags()) {
        let n = u32::try_from(deps.len()).unwrap();
        // Steps listed in reverse: order in the document must not matter.
        let steps: Vec<_> = (1..=n).rev().map(|s| {
            let d: Vec<u32> = deps[(s - 1) as usize].iter().copied().collect();
            json!({"step": s, "name": format!("s{s}"), "primary_expert": "x", "depends_on": d})
        }).collect();
        let spec = serde_json::from_value(json!({"workflow_name": "p", "workflow_steps": steps})).unwrap();
        let graph = WorkflowGraph::build(&spec).unwrap();
        let declared = deps.iter().any(|d| !d.is_empty());
        for s in 1..=n {
            let expected: Vec<u32> = if declared {
                deps[(s - 1) as usize].iter().copied().collect()
            } else if s > 1 {
                vec![s - 1]
            } else {
                vec![]
            };
            prop_assert_eq!(graph.dependencies_of(s), expected);
        }

        let recorder = Arc::new(Recorder::default());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let status = runtime.block_on(async {
            let backend = Arc::new(MemoryBackend::new("prop").unwrap());
            let engine = Engine::new(backend, recorder.clone(), EngineConfig::default().with_concurrency(limit)).unwrap();
            engine.new_run(&graph).run_to_end().await.unwrap()
        });
        prop_assert_eq!(status.state, RunState::Completed);
        let log = recorder.log.lock().unwrap().clone();
        prop_assert_eq!(log.len(), 2 * n as usize);
        let position = |mark: Mark| log.iter().position(|m| *m == mark);
        for s in 1..=n {
            prop_assert_eq!(log.iter().filter(|m| **m == Mark::Start(s)).count(), 1);
            let start = position(Mark::Start(s)).unwrap();
            for d in graph.dependencies_of(s) {
                let end = position(Mark::End(d)).unwrap();
                prop_assert!(end < start, "step {} started before dependency {} ended", s, d);
            }
            prop_assert_eq!(status.step(s).unwrap().attempts, 1);
        }
    }
}
