//! The workloads of the workflow benches: a no-op executor, a chain and a
//! fan-out of numbered steps, and the engine settings they run with.

use async_trait::async_trait;
use consort_protocol::WorkflowSpec;
use consort_workflow::{
    Durability, EngineConfig, JsonMap, StepContext, StepExecutor, StepOutcome, WorkflowGraph,
};
use serde_json::json;

pub(crate) struct NoOp;

#[async_trait]
impl StepExecutor for NoOp {
    async fn execute(&self, _ctx: StepContext) -> StepOutcome {
        StepOutcome::Completed(JsonMap::new())
    }
}

/// `n` steps chained by number (no edges declared).
pub(crate) fn chain(n: u32) -> WorkflowSpec {
    let steps: Vec<_> = (1..=n)
        .map(|i| json!({"step": i, "name": "s", "primary_expert": "x"}))
        .collect();
    serde_json::from_value(json!({"workflow_name": "chain", "workflow_steps": steps})).unwrap()
}

/// One root step and `n` steps that depend only on it.
pub(crate) fn fan_out(n: u32) -> WorkflowSpec {
    let steps: Vec<_> = std::iter::once(json!({"step": 1, "name": "root", "primary_expert": "x"}))
        .chain(
            (2..=n + 1)
                .map(|i| json!({"step": i, "name": "s", "primary_expert": "x", "depends_on": [1]})),
        )
        .collect();
    serde_json::from_value(json!({"workflow_name": "fan", "workflow_steps": steps})).unwrap()
}

/// Validated once, like a service that runs one definition many times.
pub(crate) fn build(spec: &WorkflowSpec) -> WorkflowGraph {
    WorkflowGraph::build(spec).unwrap()
}

pub(crate) fn config(durability: Durability, concurrency: usize) -> EngineConfig {
    EngineConfig::default()
        .with_durability(durability)
        .with_concurrency(concurrency)
        .with_publish_events(false)
        .without_step_timeout()
}
