//! Test executors and workflow builders shared by the integration tests.
// Test support: failing loudly is the right reaction to a broken fixture.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use consort_protocol::{StepNumber, WorkflowSpec};
use consort_workflow::{JsonMap, StepContext, StepExecutor, StepKind, StepOutcome, WorkflowGraph};
use serde_json::json;

/// One call seen by [`Scripted`].
#[derive(Debug, Clone)]
pub struct Call {
    pub step: StepNumber,
    pub attempt: u32,
    pub validation: bool,
    pub key: String,
    pub inputs: JsonMap,
}

type Script = dyn Fn(&StepContext) -> (Duration, StepOutcome) + Send + Sync;

/// Answers each call with what `script` says after the delay it says, and
/// records calls, completion order and the most calls in flight at once.
pub struct Scripted {
    script: Box<Script>,
    pub calls: Mutex<Vec<Call>>,
    pub finished: Mutex<Vec<StepNumber>>,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

impl Scripted {
    pub fn new(
        script: impl Fn(&StepContext) -> (Duration, StepOutcome) + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            script: Box::new(script),
            calls: Mutex::new(Vec::new()),
            finished: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        })
    }

    /// Every call completes at once with `{"done": step}`.
    pub fn ok() -> Arc<Self> {
        Self::new(|ctx| (Duration::ZERO, done(ctx)))
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn executions(&self, step: StepNumber) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.step == step && !c.validation)
            .collect()
    }
}

pub fn done(ctx: &StepContext) -> StepOutcome {
    let mut out = JsonMap::new();
    out.insert("done".into(), json!(ctx.step().number));
    StepOutcome::Completed(out)
}

#[async_trait]
impl StepExecutor for Scripted {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        self.calls.lock().unwrap().push(Call {
            step: ctx.step().number,
            attempt: ctx.attempt(),
            validation: matches!(ctx.kind(), StepKind::Validate { .. }),
            key: ctx.idempotency_key(),
            inputs: ctx.inputs().to_json(),
        });
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let (delay, outcome) = (self.script)(&ctx);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if matches!(ctx.kind(), StepKind::Execute) && matches!(outcome, StepOutcome::Completed(_)) {
            self.finished.lock().unwrap().push(ctx.step().number);
        }
        outcome
    }
}

/// A workflow from `(step, depends_on)` pairs; expert `x` everywhere.
pub fn dag(steps: &[(StepNumber, &[StepNumber])]) -> WorkflowSpec {
    let steps: Vec<_> = steps
        .iter()
        .map(|(n, deps)| json!({"step": n, "name": format!("step {n}"), "primary_expert": "x", "depends_on": deps}))
        .collect();
    serde_json::from_value(json!({"workflow_name": "test", "workflow_steps": steps})).unwrap()
}

/// `n` steps chained in number order (no edges declared).
pub fn chain(n: StepNumber) -> WorkflowSpec {
    let steps: Vec<_> = (1..=n)
        .map(|i| json!({"step": i, "name": format!("step {i}"), "primary_expert": "x"}))
        .collect();
    serde_json::from_value(json!({"workflow_name": "chain", "workflow_steps": steps})).unwrap()
}

/// `n` steps in two interleaved chains: step `i` depends on step `i - 2`,
/// each with the output `result`.
pub fn ladder(n: StepNumber) -> WorkflowSpec {
    let steps: Vec<_> = (1..=n)
        .map(|i| {
            let deps: Vec<StepNumber> = if i > 2 { vec![i - 2] } else { vec![] };
            json!({"step": i, "name": format!("step {i}"), "primary_expert": "x",
                   "outputs": ["result"], "depends_on": deps})
        })
        .collect();
    serde_json::from_value(json!({"workflow_name": "ladder", "workflow_steps": steps})).unwrap()
}

/// A workflow from raw step JSON objects.
pub fn workflow(steps: serde_json::Value) -> WorkflowSpec {
    let mut doc = serde_json::Map::new();
    doc.insert("workflow_name".into(), json!("test"));
    doc.insert("workflow_steps".into(), steps);
    serde_json::from_value(serde_json::Value::Object(doc)).unwrap()
}

/// `spec` validated, ready to run.
pub fn graph(spec: &WorkflowSpec) -> WorkflowGraph {
    WorkflowGraph::build(spec).unwrap()
}
