//! Step transitions: what an attempt's start, result or backoff does to
//! the step's record, the ready queue and the run.

use std::sync::Arc;

use consort_protocol::{EventKind, StepNumber, ValidationFailurePolicy, WorkflowProgress};

use super::work::{Job, Wake};
use super::{Driver, Stop};
use crate::attempt::AttemptResult;
use crate::context::{HumanInput, StepContext};
use crate::executor::{JsonMap, StepKind};
use crate::records::percent;
use crate::settings::{FailurePolicy, RetryPolicy};
use crate::stamp::Stamp;
use crate::status::StepState;

impl Driver {
    /// Marks step `index` running with its next attempt number (queued for
    /// the next write) and builds its context.
    pub(super) fn prepare(&mut self, index: usize) -> Option<StepContext> {
        let step = Arc::clone(self.graph().steps().get(index)?);
        let stamp = self.now();
        let rec = self.records.get_mut(index)?;
        if !matches!(
            rec.state,
            StepState::Pending | StepState::Running | StepState::WaitingForHuman
        ) {
            return None;
        }
        let human = rec.answer.as_ref().map(|answer| {
            Arc::new(HumanInput {
                answer: answer.clone(),
                question: rec.question.clone(),
            })
        });
        rec.attempts += 1;
        rec.state = StepState::Running;
        rec.started_at = Some(stamp);
        rec.finished_at = None;
        let attempt = rec.attempts;
        self.checkpoint(index);
        let percent = percent(self.completed, self.graph().len());
        self.events.emit(
            EventKind::StepStarted,
            Some((&step, attempt)),
            percent,
            None,
        );
        Some(StepContext {
            run: Arc::clone(&self.shared),
            step,
            index,
            attempt,
            human,
            kind: StepKind::Execute,
        })
    }

    pub(super) fn handle(&mut self, wake: Wake) {
        match wake {
            Wake::Backoff { index } => {
                if self.stop == Stop::None {
                    self.ready.push_back(index);
                }
            }
            Wake::Attempt { index, result } => {
                self.executing = self.executing.saturating_sub(1);
                match result {
                    AttemptResult::Completed(outputs) => self.complete(index, outputs),
                    AttemptResult::NeedsHuman(question) => self.wait_for_human(index, question),
                    AttemptResult::Failed { error, retryable } => {
                        self.attempt_failed(index, error, retryable);
                    }
                    AttemptResult::ValidationFailed(error) => {
                        let policy = self
                            .graph()
                            .steps()
                            .get(index)
                            .map(|s| s.on_validation_failure)
                            .unwrap_or_default();
                        match policy {
                            ValidationFailurePolicy::Retry => {
                                self.attempt_failed(index, error, true);
                            }
                            ValidationFailurePolicy::Escalate => self.wait_for_human(index, error),
                            ValidationFailurePolicy::Fail => {
                                self.attempt_failed(index, error, false);
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn emit_step(
        &self,
        kind: fn(WorkflowProgress) -> EventKind,
        index: usize,
        detail: Option<&str>,
    ) {
        if let (Some(info), Some(rec)) = (self.graph().steps().get(index), self.records.get(index))
        {
            let percent = percent(self.completed, self.graph().len());
            self.events
                .emit(kind, Some((info, rec.attempts)), percent, detail);
        }
    }

    /// The time of this turn's transitions (see [`Stamp`]).
    pub(super) fn now(&mut self) -> Stamp {
        let for_records = self.durable();
        *self.stamp.get_or_insert_with(|| Stamp::now(for_records))
    }

    pub(super) fn complete(&mut self, index: usize, outputs: JsonMap) {
        let stamp = self.now();
        let Some(rec) = self.records.get_mut(index) else {
            return;
        };
        rec.state = StepState::Completed;
        rec.finished_at = Some(stamp);
        rec.error = None;
        rec.question = None;
        rec.answer = None;
        if let Some(cell) = self.shared.outputs.get(index)
            && cell.set(outputs).is_err()
        {
            // A completed step is never launched again, so this is a bug;
            // keep the first outputs, which later steps may have read.
            tracing::error!(
                step = index,
                "a step completed twice; kept its first outputs"
            );
        }
        self.completed += 1;
        self.checkpoint(index);
        self.emit_step(EventKind::StepCompleted, index, None);
        tracing::debug!(
            run = %self.shared.run_id,
            step = self.step_number(index),
            completed = self.completed,
            "step completed"
        );
        let shared = Arc::clone(&self.shared);
        for &next in shared.plan.dependents(index) {
            if let Some(waiting) = self.waiting.get_mut(next) {
                *waiting = waiting.saturating_sub(1);
                if *waiting == 0 && self.state_of(next) == Some(StepState::Pending) {
                    self.ready.push_back(next);
                }
            }
        }
    }

    pub(super) fn wait_for_human(&mut self, index: usize, question: String) {
        let Some(rec) = self.records.get_mut(index) else {
            return;
        };
        rec.state = StepState::WaitingForHuman;
        rec.question = Some(question);
        rec.answer = None;
        self.checkpoint(index);
        let question = self.records.get(index).and_then(|r| r.question.clone());
        self.emit_step(EventKind::WaitingForHuman, index, question.as_deref());
        tracing::info!(
            run = %self.shared.run_id,
            step = self.step_number(index),
            question = question.as_deref(),
            "step waits for a human"
        );
        self.stop_with(Stop::WaitForHuman);
    }

    pub(super) fn attempt_failed(&mut self, index: usize, error: String, retryable: bool) {
        let retry = self
            .graph()
            .steps()
            .get(index)
            .and_then(|s| s.retry)
            .map_or(self.settings.retry, RetryPolicy::from);
        let Some(rec) = self.records.get_mut(index) else {
            return;
        };
        let attempts = rec.attempts;
        rec.error = Some(error);
        let error = rec.error.clone();
        self.emit_step(EventKind::StepFailed, index, error.as_deref());
        let retried = retryable && attempts < retry.max_attempts;
        tracing::warn!(
            run = %self.shared.run_id,
            step = self.step_number(index),
            attempt = attempts,
            error = error.as_deref(),
            retried,
            "step attempt failed"
        );
        if retried {
            // While paused the step stays `running`; a resume gives it its
            // next attempt. The failure itself is not written: the next
            // attempt's `running` record carries the error.
            if self.stop == Stop::None {
                let delay = retry.backoff(attempts);
                self.jobs.push(Job::Backoff { index, delay });
            }
            return;
        }
        let stamp = self.now();
        if let Some(rec) = self.records.get_mut(index) {
            rec.state = StepState::Failed;
            rec.finished_at = Some(stamp);
        }
        self.checkpoint(index);
        match self.settings.failure_policy {
            FailurePolicy::FailFast => self.stop_with(Stop::FailFast),
            FailurePolicy::ContinueOnFailure => self.skip_dependents(index),
        }
    }

    /// The number of the step at `index`, for diagnostics.
    fn step_number(&self, index: usize) -> Option<StepNumber> {
        self.graph().steps().get(index).map(|s| s.number)
    }

    /// Marks every pending step that (indirectly) depends on `index` skipped.
    pub(super) fn skip_dependents(&mut self, index: usize) {
        let shared = Arc::clone(&self.shared);
        let mut stack = vec![index];
        while let Some(at) = stack.pop() {
            for &next in shared.plan.dependents(at) {
                if self.state_of(next) == Some(StepState::Pending) {
                    self.settle(next, StepState::Skipped);
                    stack.push(next);
                }
            }
        }
    }

    pub(super) fn settle(&mut self, index: usize, state: StepState) {
        let stamp = self.now();
        if let Some(rec) = self.records.get_mut(index) {
            rec.state = state;
            rec.finished_at = Some(stamp);
            self.checkpoint(index);
        }
    }
}
