//! [`SimulatedExecutor`]: runs workflows without experts, for the CLI,
//! examples, tests and benchmarks.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use consort_state::StateBackend;
use consort_state::retry::{RetryBudget, retry_transient};
use serde_json::Value;

use crate::context::StepContext;
use crate::executor::{JsonMap, StepExecutor, StepKind, StepOutcome};

/// Completes every step with its declared outputs set to placeholder strings
/// (`"simulated campaign_brief from personal_assistant"`) after a fixed
/// delay; every validation passes.
///
/// With [`counting_in`](Self::counting_in) it also records each execution
/// (its idempotency key and attempt number) in a backend before sleeping, so
/// tests can prove how often each step really ran
/// ([`executions`](Self::executions)).
#[derive(Debug, Clone, Default)]
pub struct SimulatedExecutor {
    delay: Duration,
    counter: Option<Arc<dyn StateBackend>>,
}

/// `wf:exec:{key}:`, the start of the keys recording the executions of
/// idempotency key `key`.
fn executions_prefix(idempotency_key: &str) -> String {
    format!("wf:exec:{idempotency_key}:")
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

    /// Records every execution in `backend`: the key
    /// `wf:exec:{idempotency key}:{attempt}`, written before the step's work.
    /// One key per attempt makes the record exact through backend faults: a
    /// write retried after a lost reply writes the same key again, where a
    /// counter would count twice. Writes ride through transient backend
    /// errors for up to 30 s.
    #[must_use]
    pub fn counting_in(mut self, backend: Arc<dyn StateBackend>) -> Self {
        self.counter = Some(backend);
        self
    }

    /// How many executions of `idempotency_key` an executor made with
    /// [`counting_in`](Self::counting_in) recorded in `backend`.
    pub async fn executions(
        backend: &dyn StateBackend,
        idempotency_key: &str,
    ) -> consort_state::Result<usize> {
        let prefix = executions_prefix(idempotency_key);
        let mut cursor = None;
        let mut count = 0;
        loop {
            let page = backend.list(&prefix, cursor.as_ref(), 1000).await?;
            count += page.keys.len();
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(count),
            }
        }
    }
}

#[async_trait]
impl StepExecutor for SimulatedExecutor {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        if *ctx.kind() != StepKind::Execute {
            return StepOutcome::Completed(JsonMap::new());
        }
        if let Some(counter) = &self.counter {
            let key = format!(
                "{}{}",
                executions_prefix(&ctx.idempotency_key()),
                ctx.attempt()
            );
            let recorded = retry_transient(&RetryBudget::default(), || {
                counter.set(&key, "1".into(), None)
            })
            .await;
            if let Err(e) = recorded {
                return StepOutcome::retry(format!("recording the execution: {e}"));
            }
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
