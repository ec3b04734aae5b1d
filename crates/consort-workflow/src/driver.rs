//! The loop that drives one run: launch ready steps up to the concurrency
//! limit, checkpoint, wait for attempts, react.
//!
//! # Checkpoints
//!
//! Every write goes through one lease-guarded [`Batch`] per turn of the loop.
//! A turn collects everything that changed since the last write — the
//! completions that arrived together and the `running` records (with their new
//! attempt numbers) of the steps they unblocked — and writes it at once,
//! *before* those steps are called. So the attempt number is durable before
//! the executor sees it, and a sequential chain costs one write per step.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use consort_protocol::{EventKind, ValidationFailurePolicy, WorkflowProgress};
use consort_state::{Batch, Expect, Lease, LeaseGuard, WriteOp};
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Sleep;

use crate::attempt::{Attempt, AttemptResult};
use crate::config::{Durability, FailurePolicy, RetryPolicy};
use crate::context::{HumanInput, RunShared, StepContext};
use crate::engine::Inner;
use crate::error::WorkflowError;
use crate::events::Events;
use crate::executor::{JsonMap, StepExecutor, StepKind};
use crate::graph::{Plan, WorkflowGraph};
use crate::ownership::{Ownership, Signal};
use crate::records::{
    RunRecord, SpecRecord, SpecRecordOut, Stamp, StepRecord, StepRecordOut, assemble, cancel_key,
    encode, encode_with, percent, run_key, spec_key, step_key_prefix, with_number,
};
use crate::status::{RunState, RunStatus, StepState};

/// Why the driver stops launching steps; later variants win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    None,
    /// A step waits for a human: launch nothing new, let calls in flight finish.
    Pause,
    /// A step failed under fail-fast: drop calls in flight.
    FailFast,
    /// Cancelled: drop calls in flight.
    Cancel,
}

enum Wake {
    Attempt { index: usize, result: AttemptResult },
    Backoff { index: usize },
}

/// Work queued in a turn, started after the turn's write.
enum Job {
    Attempt {
        index: usize,
        ctx: StepContext,
        timeout: Option<Duration>,
    },
    Backoff {
        index: usize,
        delay: Duration,
    },
}

/// Started work that has to wait: an attempt, or a retry's backoff.
enum Waiting<'e> {
    Attempt {
        index: usize,
        attempt: Attempt<'e>,
    },
    Backoff {
        index: usize,
        sleep: Pin<Box<Sleep>>,
    },
}

impl Future for Waiting<'_> {
    type Output = Wake;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Wake> {
        match self.get_mut() {
            Self::Attempt { index, attempt } => {
                Pin::new(attempt).poll(cx).map(|result| Wake::Attempt {
                    index: *index,
                    result,
                })
            }
            Self::Backoff { index, sleep } => sleep
                .as_mut()
                .poll(cx)
                .map(|()| Wake::Backoff { index: *index }),
        }
    }
}

/// Starts the queued `jobs`: polls each attempt once where it is made, and
/// keeps those that have to wait (and backoffs) in `in_flight`; attempts that
/// ended at once go to `settled`.
fn start<'e>(
    jobs: &mut Vec<Job>,
    executor: &'e dyn StepExecutor,
    cx: &mut Context<'_>,
    in_flight: &mut FuturesUnordered<Waiting<'e>>,
    settled: &mut Vec<Wake>,
) {
    for job in jobs.drain(..) {
        match job {
            Job::Attempt {
                index,
                ctx,
                timeout,
            } => {
                let mut attempt = Attempt::new(executor, ctx, timeout);
                match Pin::new(&mut attempt).poll(cx) {
                    Poll::Ready(result) => settled.push(Wake::Attempt { index, result }),
                    Poll::Pending => in_flight.push(Waiting::Attempt { index, attempt }),
                }
            }
            Job::Backoff { index, delay } => in_flight.push(Waiting::Backoff {
                index,
                sleep: Box::pin(tokio::time::sleep(delay)),
            }),
        }
    }
}

/// One run being driven by this engine.
pub(crate) struct Driver {
    inner: Arc<Inner>,
    /// The run id, the plan, the parameters and the outputs of completed
    /// steps, shared with every call's context.
    shared: Arc<RunShared>,
    /// Each step's record, without its outputs (those are in `shared`).
    records: Vec<StepRecord>,
    /// Dependencies not completed yet, per step.
    waiting: Vec<usize>,
    ready: VecDeque<usize>,
    executing: usize,
    completed: usize,
    stop: Stop,
    /// Writes queued for this turn's batch.
    ops: Vec<WriteOp>,
    /// Jobs queued this turn, started after the turn's write.
    jobs: Vec<Job>,
    /// `wf:run:{id}:step:`, the start of every step record key.
    step_key_prefix: String,
    /// Where records are encoded before they are copied out.
    buffer: Vec<u8>,
    /// What every write requires: that the run's lease is still ours.
    guard: Option<LeaseGuard>,
    /// The time of this turn's transitions; taken at its first use in a turn.
    stamp: Option<Stamp>,
    created_at: Timestamp,
    ownership: Ownership,
    events: Events,
}

/// What a resume finds in the backend.
pub(crate) struct Stored {
    pub(crate) run: RunRecord,
    pub(crate) spec: SpecRecord,
    pub(crate) graph: Arc<Plan>,
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) cancel_requested: bool,
}

impl Driver {
    fn with_records(
        inner: &Arc<Inner>,
        run_id: &str,
        graph: Arc<Plan>,
        params: JsonMap,
        mut records: Vec<StepRecord>,
        created_at: Timestamp,
        ownership: Ownership,
    ) -> Self {
        let step_key_prefix = step_key_prefix(run_id);
        let run_id: Arc<str> = Arc::from(run_id);
        let events = Events::new(
            &inner.backend,
            inner.config.publish_events,
            &inner.owner,
            &run_id,
            graph.name(),
        );
        let waiting = (0..graph.len())
            .map(|i| {
                graph
                    .deps(i)
                    .iter()
                    .filter(|&&d| {
                        records
                            .get(d)
                            .is_none_or(|r| r.state != StepState::Completed)
                    })
                    .count()
            })
            .collect();
        let completed = records
            .iter()
            .filter(|r| r.state == StepState::Completed)
            .count();
        let outputs = records
            .iter_mut()
            .map(|r| r.outputs.take().map_or_else(OnceLock::new, OnceLock::from))
            .collect();
        Self {
            inner: Arc::clone(inner),
            shared: Arc::new(RunShared {
                run_id,
                plan: graph,
                params,
                outputs,
            }),
            records,
            waiting,
            ready: VecDeque::new(),
            executing: 0,
            completed,
            stop: Stop::None,
            ops: Vec::new(),
            jobs: Vec::new(),
            step_key_prefix,
            buffer: Vec::new(),
            guard: ownership.lease.as_ref().map(Lease::guard),
            stamp: None,
            created_at,
            ownership,
            events,
        }
    }

    /// A new run; [`begin`](Self::begin) writes its records.
    pub(crate) fn new_run(
        inner: &Arc<Inner>,
        run_id: &str,
        graph: Arc<Plan>,
        params: JsonMap,
        ownership: Ownership,
    ) -> Self {
        let records = vec![StepRecord::default(); graph.len()];
        let mut driver = Self::with_records(
            inner,
            run_id,
            graph,
            params,
            records,
            Timestamp::now(),
            ownership,
        );
        driver.ready = (0..driver.graph().len())
            .filter(|&i| driver.waiting.get(i) == Some(&0))
            .collect();
        driver
    }

    /// A run found in the backend: completed steps stay completed, steps that
    /// were in flight run again with their next attempt number.
    pub(crate) fn resumed(
        inner: &Arc<Inner>,
        run_id: &str,
        stored: Stored,
        ownership: Ownership,
    ) -> Self {
        let Stored {
            run,
            spec,
            graph,
            steps,
            cancel_requested,
        } = stored;
        let mut driver = Self::with_records(
            inner,
            run_id,
            graph,
            spec.params,
            steps,
            run.created_at,
            ownership,
        );
        for i in 0..driver.records.len() {
            let launchable = match driver.records.get(i) {
                Some(r) => match r.state {
                    StepState::Running => true,
                    StepState::WaitingForHuman => r.answer.is_some(),
                    StepState::Pending => driver.waiting.get(i) == Some(&0),
                    _ => false,
                },
                None => false,
            };
            if launchable {
                driver.ready.push_back(i);
            }
        }
        let failed: Vec<usize> = (0..driver.records.len())
            .filter(|&i| driver.state_of(i) == Some(StepState::Failed))
            .collect();
        if !failed.is_empty() {
            match driver.inner.config.failure_policy {
                FailurePolicy::FailFast => driver.stop_with(Stop::FailFast),
                FailurePolicy::ContinueOnFailure => {
                    for i in failed {
                        driver.skip_dependents(i);
                    }
                }
            }
        }
        if cancel_requested {
            driver.stop_with(Stop::Cancel);
        }
        if run.state != RunState::Running {
            driver.push_run_record(RunState::Running, None, None);
        }
        driver
    }

    /// Gives step `index` a human's answer and queues it.
    pub(crate) fn answer(&mut self, index: usize, answer: Value) {
        if let Some(rec) = self.records.get_mut(index) {
            rec.answer = Some(answer);
            if !self.ready.contains(&index) {
                self.ready.push_back(index);
            }
        }
    }

    pub(crate) fn run_id(&self) -> &str {
        &self.shared.run_id
    }

    fn graph(&self) -> &Plan {
        &self.shared.plan
    }

    pub(crate) fn index_of(&self, step: consort_protocol::StepNumber) -> Option<usize> {
        self.graph().index_of(step)
    }

    /// Gives the run up without writing anything.
    pub(crate) async fn abandon(self) {
        let Self {
            ownership, events, ..
        } = self;
        ownership.release().await;
        events.close().await;
    }

    pub(crate) fn state_of(&self, index: usize) -> Option<StepState> {
        self.records.get(index).map(|r| r.state)
    }

    fn durable(&self) -> bool {
        self.inner.config.durability == Durability::Steps
    }

    fn state_error(&self, action: &str, source: consort_state::StateError) -> WorkflowError {
        match source {
            consort_state::StateError::LeaseLost { .. } => WorkflowError::LeaseLost {
                run_id: self.run_id().to_owned(),
            },
            source => WorkflowError::State {
                run_id: self.run_id().to_owned(),
                action: action.to_owned(),
                source,
            },
        }
    }

    /// Writes the run and spec records of a new run; fails with
    /// [`WorkflowError::RunExists`] if the id is taken.
    pub(crate) async fn begin(&mut self, workflow: &WorkflowGraph) -> Result<(), WorkflowError> {
        if self.durable() {
            let key = spec_key(self.run_id());
            let spec_json = workflow.spec_json().map_err(|e| WorkflowError::Corrupt {
                run_id: self.run_id().to_owned(),
                key: key.clone(),
                detail: e.to_string(),
            })?;
            let record = SpecRecordOut {
                spec_json,
                params: &self.shared.params,
            };
            // Its own buffer: the definition can be large, and is written once.
            let value = encode_with(&mut Vec::new(), &self.shared.run_id, &key, |out| {
                record.write_json(out)
            })?;
            self.push_run_record(RunState::Running, None, Some(Expect::Absent));
            self.ops.push(WriteOp::Set {
                key,
                value,
                ttl: None,
            });
            let ops = std::mem::take(&mut self.ops);
            let result = self.apply(ops).await;
            if let Err(consort_state::StateError::VersionConflict { .. }) = result {
                return Err(WorkflowError::RunExists {
                    run_id: self.run_id().to_owned(),
                });
            }
            result.map_err(|e| self.state_error("recording the new run", e))?;
        }
        self.events
            .emit(EventKind::WorkflowStarted, None, 0.0, None);
        Ok(())
    }

    async fn apply(&self, ops: Vec<WriteOp>) -> consort_state::Result<()> {
        let guard = self.guard.clone();
        self.inner
            .backend
            .apply(Batch { guard, ops })
            .await
            .map(drop)
    }

    fn push_run_record(&mut self, state: RunState, error: Option<String>, expect: Option<Expect>) {
        if !self.durable() {
            return;
        }
        let record = RunRecord {
            workflow: self.graph().name().to_owned(),
            state,
            error,
            created_at: self.created_at,
            updated_at: Timestamp::now(),
        };
        let key = run_key(self.run_id());
        match encode(&mut self.buffer, &self.shared.run_id, &key, &record) {
            Ok(value) => self.ops.push(match expect {
                Some(expect) => WriteOp::CompareAndSet {
                    key,
                    expect,
                    value,
                    ttl: None,
                },
                None => WriteOp::Set {
                    key,
                    value,
                    ttl: None,
                },
            }),
            // Our own record types always encode; keep going without it.
            Err(e) => tracing::error!(error = %e, "encoding the run record failed"),
        }
    }

    fn checkpoint(&mut self, index: usize) {
        if !self.durable() {
            return;
        }
        let (Some(record), Some(info)) = (self.records.get(index), self.graph().steps().get(index))
        else {
            return;
        };
        // Made per write rather than kept per step: the batch takes the key.
        let key = with_number(&self.step_key_prefix, info.number);
        let out = StepRecordOut {
            record,
            outputs: self.shared.outputs.get(index).and_then(OnceLock::get),
        };
        match encode_with(&mut self.buffer, &self.shared.run_id, &key, |b| {
            out.write_json(b)
        }) {
            Ok(value) => self.ops.push(WriteOp::Set {
                key,
                value,
                ttl: None,
            }),
            Err(e) => tracing::error!(error = %e, "encoding a step record failed"),
        }
    }

    async fn flush(&mut self) -> Result<(), WorkflowError> {
        if self.ops.is_empty() {
            return Ok(());
        }
        // The batch takes the vector. Turns come in runs of similar size (a
        // fan-out's starts, then its completions): room for as many writes
        // as this turn saves growing the next one step by step.
        let room = self.ops.len();
        let ops = std::mem::replace(&mut self.ops, Vec::with_capacity(room));
        self.apply(ops)
            .await
            .map_err(|e| self.state_error("checkpointing step states", e))
    }

    fn stop_with(&mut self, stop: Stop) {
        self.stop = self.stop.max(stop);
    }

    /// Drives the run until every step is settled or it pauses, stops or is
    /// cancelled, and returns its status.
    pub(crate) async fn drive(mut self) -> Result<RunStatus, WorkflowError> {
        // Calls borrow the executor from here, so that an attempt is a plain
        // value the driver can poll where it is made.
        let executor = Arc::clone(&self.inner.executor);
        let mut in_flight = FuturesUnordered::new();
        let mut settled: Vec<Wake> = Vec::new();
        let mut signal = self.ownership.signal.clone();
        loop {
            self.launch_ready();
            self.flush().await?;
            // Only now, with the attempt numbers durable, may the calls start.
            if !self.jobs.is_empty() {
                let jobs = &mut self.jobs;
                std::future::poll_fn(|cx| {
                    start(jobs, executor.as_ref(), cx, &mut in_flight, &mut settled);
                    Poll::Ready(())
                })
                .await;
            }
            if settled.is_empty() {
                if in_flight.is_empty() {
                    break;
                }
                let wake = tokio::select! {
                    biased;
                    changed = signal.changed() => {
                        // The sender lives as long as the ownership; an
                        // error cannot happen while driving: no news.
                        if changed.is_ok() {
                            self.observe(&mut signal)?;
                        }
                        None
                    }
                    Some(wake) = in_flight.next() => Some(wake),
                };
                settled.extend(wake);
            } else {
                // Calls that answered at once never waited: give the other
                // tasks of this thread their turn now and then.
                tokio::task::coop::consume_budget().await;
                if signal.has_changed().unwrap_or(false) {
                    self.observe(&mut signal)?;
                }
            }
            // A new turn: what happens from here on gets a new time.
            self.stamp = None;
            // Completions that are already there share this turn's write.
            while !in_flight.is_empty()
                && let Some(Some(wake)) = in_flight.next().now_or_never()
            {
                settled.push(wake);
            }
            for wake in settled.drain(..) {
                self.handle(wake);
            }
            if self.stop >= Stop::FailFast {
                // Dropping the futures cancels the calls in flight.
                drop(in_flight);
                break;
            }
        }
        self.finish().await
    }

    /// Reacts to a change of the run's ownership signal.
    fn observe(&mut self, signal: &mut watch::Receiver<Signal>) -> Result<(), WorkflowError> {
        let now = *signal.borrow_and_update();
        match now {
            Signal::LeaseLost => {
                return Err(WorkflowError::LeaseLost {
                    run_id: self.run_id().to_owned(),
                });
            }
            Signal::Cancel => self.stop_with(Stop::Cancel),
            Signal::None => {}
        }
        Ok(())
    }

    /// Queues a call for each ready step, up to the concurrency limit.
    fn launch_ready(&mut self) {
        if self.stop != Stop::None {
            return;
        }
        while self.executing < self.inner.config.concurrency {
            let Some(index) = self.ready.pop_front() else {
                break;
            };
            if let Some(ctx) = self.prepare(index) {
                self.executing += 1;
                self.jobs.push(Job::Attempt {
                    index,
                    timeout: ctx.step.timeout.or(self.inner.config.step_timeout),
                    ctx,
                });
            }
        }
    }

    /// Marks step `index` running with its next attempt number (queued for
    /// the next write) and builds its context.
    fn prepare(&mut self, index: usize) -> Option<StepContext> {
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

    fn handle(&mut self, wake: Wake) {
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

    fn emit_step(
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
    fn now(&mut self) -> Stamp {
        self.stamp.get_or_insert_with(Stamp::now).clone()
    }

    fn complete(&mut self, index: usize, outputs: JsonMap) {
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

    fn wait_for_human(&mut self, index: usize, question: String) {
        let Some(rec) = self.records.get_mut(index) else {
            return;
        };
        rec.state = StepState::WaitingForHuman;
        rec.question = Some(question);
        rec.answer = None;
        self.checkpoint(index);
        let question = self.records.get(index).and_then(|r| r.question.clone());
        self.emit_step(EventKind::WaitingForHuman, index, question.as_deref());
        self.stop_with(Stop::Pause);
    }

    fn attempt_failed(&mut self, index: usize, error: String, retryable: bool) {
        let retry = self
            .graph()
            .steps()
            .get(index)
            .and_then(|s| s.retry)
            .map_or(self.inner.config.retry, RetryPolicy::from);
        let Some(rec) = self.records.get_mut(index) else {
            return;
        };
        let attempts = rec.attempts;
        rec.error = Some(error);
        let error = rec.error.clone();
        self.emit_step(EventKind::StepFailed, index, error.as_deref());
        if retryable && attempts < retry.max_attempts {
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
        match self.inner.config.failure_policy {
            FailurePolicy::FailFast => self.stop_with(Stop::FailFast),
            FailurePolicy::ContinueOnFailure => self.skip_dependents(index),
        }
    }

    /// Marks every pending step that (indirectly) depends on `index` skipped.
    fn skip_dependents(&mut self, index: usize) {
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

    fn settle(&mut self, index: usize, state: StepState) {
        let stamp = self.now();
        if let Some(rec) = self.records.get_mut(index) {
            rec.state = state;
            rec.finished_at = Some(stamp);
            self.checkpoint(index);
        }
    }

    async fn finish(mut self) -> Result<RunStatus, WorkflowError> {
        if self.stop >= Stop::FailFast {
            for index in 0..self.records.len() {
                match self.state_of(index) {
                    Some(StepState::Running | StepState::WaitingForHuman) => {
                        self.settle(index, StepState::Cancelled);
                    }
                    Some(StepState::Pending) => self.settle(index, StepState::Skipped),
                    _ => {}
                }
            }
        }
        let (state, error) = self.outcome();
        self.push_run_record(state, error.clone(), None);
        if self.durable() && state.is_finished() {
            self.ops.push(WriteOp::Delete {
                key: cancel_key(self.run_id()),
            });
        }
        self.flush().await?;
        let kind: fn(WorkflowProgress) -> EventKind = match state {
            RunState::Completed => EventKind::WorkflowCompleted,
            RunState::Cancelled => EventKind::WorkflowCancelled,
            RunState::WaitingForHuman => EventKind::WaitingForHuman,
            RunState::Failed | RunState::Running => EventKind::WorkflowFailed,
        };
        let Self {
            shared,
            records,
            ownership,
            events,
            ..
        } = self;
        let status = status_of(shared, records, state, error);
        events.emit(kind, None, status.percent_complete, status.error.as_deref());
        ownership.release().await;
        events.close().await;
        Ok(status)
    }

    fn outcome(&self) -> (RunState, Option<String>) {
        let first_failure = || {
            self.graph()
                .steps()
                .iter()
                .zip(&self.records)
                .find_map(|(info, rec)| {
                    (rec.state == StepState::Failed).then(|| {
                        format!(
                            "{} failed: {}",
                            info.label(),
                            rec.error.as_deref().unwrap_or("unknown error")
                        )
                    })
                })
        };
        let any = |state| self.records.iter().any(|r| r.state == state);
        if self.stop == Stop::Cancel {
            (RunState::Cancelled, None)
        } else if self.stop == Stop::FailFast {
            (RunState::Failed, first_failure())
        } else if any(StepState::WaitingForHuman) || any(StepState::Running) {
            (RunState::WaitingForHuman, None)
        } else if any(StepState::Failed) {
            (RunState::Failed, first_failure())
        } else if self.completed == self.records.len() {
            (RunState::Completed, None)
        } else {
            (
                RunState::Failed,
                Some("no step can run: dependencies never completed".to_owned()),
            )
        }
    }
}

/// The run's status from its records, with the outputs put back in: moved,
/// unless an executor kept a context of the run (then copied).
fn status_of(
    shared: Arc<RunShared>,
    mut records: Vec<StepRecord>,
    state: RunState,
    error: Option<String>,
) -> RunStatus {
    match Arc::try_unwrap(shared) {
        Ok(shared) => {
            for (record, outputs) in records.iter_mut().zip(shared.outputs) {
                record.outputs = outputs.into_inner();
            }
            assemble(&shared.run_id, &shared.plan, state, error, records)
        }
        Err(shared) => {
            for (record, outputs) in records.iter_mut().zip(&shared.outputs) {
                record.outputs = outputs.get().cloned();
            }
            assemble(&shared.run_id, &shared.plan, state, error, records)
        }
    }
}
