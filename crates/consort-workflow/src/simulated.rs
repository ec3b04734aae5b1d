//! [`SimulatedExecutor`]: runs workflows without experts, for the CLI,
//! examples, tests and benchmarks.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use consort_state::StateBackend;
use serde_json::Value;

use crate::context::StepContext;
use crate::executor::{JsonMap, StepExecutor, StepKind, StepOutcome};

/// Completes every step with its declared outputs set to placeholder strings
/// (`"simulated campaign_brief from personal_assistant"`) after a fixed
/// delay; every validation passes.
///
/// With [`counting_in`](Self::counting_in) it also increments the counter
/// [`execution_counter_key`] of each execution's idempotency key before
/// sleeping, so tests can prove how often each step really ran.
#[derive(Debug, Clone, Default)]
pub struct SimulatedExecutor {
    delay: Duration,
    counter: Option<Arc<dyn StateBackend>>,
}

/// The counter [`SimulatedExecutor::counting_in`] increments for an
/// execution with this idempotency key: `wf:exec:{key}`.
pub fn execution_counter_key(idempotency_key: &str) -> String {
    format!("wf:exec:{idempotency_key}")
}

impl SimulatedExecutor {
    /// No delay, no counting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits `delay` in every execution (validations do not wait).
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Counts executions per idempotency key in `backend`.
    #[must_use]
    pub fn counting_in(mut self, backend: Arc<dyn StateBackend>) -> Self {
        self.counter = Some(backend);
        self
    }
}

#[async_trait]
impl StepExecutor for SimulatedExecutor {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        if *ctx.kind() != StepKind::Execute {
            return StepOutcome::Completed(JsonMap::new());
        }
        if let Some(counter) = &self.counter
            && let Err(e) = counter
                .increment(&execution_counter_key(&ctx.idempotency_key()), 1)
                .await
        {
            return StepOutcome::retry(format!("counting the execution: {e}"));
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let step = ctx.step();
        let outputs = step
            .outputs
            .iter()
            .map(|name| {
                let value = format!("simulated {name} from {}", step.primary_expert);
                (name.clone(), Value::String(value))
            })
            .collect();
        StepOutcome::Completed(outputs)
    }
}
