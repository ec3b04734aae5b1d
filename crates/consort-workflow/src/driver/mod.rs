//! The loop that drives one run: launch ready steps up to the concurrency
//! limit, checkpoint, wait for attempts, react.
//!
//! - [`work`]: attempts and backoffs started after a turn's write;
//! - [`in_flight`]: those of them that have to wait;
//! - [`setup`]: a driver for a new run or for one found in the backend;
//! - [`checkpoint`]: the records a turn writes, in one lease-guarded batch;
//! - [`transitions`]: what each step event does to the records;
//! - [`finish`]: settling the run and returning its status;
//! - [`retention`]: letting a finished run's records expire.
//!
//! # Checkpoints
//!
//! Every write goes through one lease-guarded [`Batch`](consort_state::Batch)
//! per turn of the loop. A turn collects everything that changed since the
//! last write — the completions that arrived together and the `running`
//! records (with their new attempt numbers) of the steps they unblocked — and
//! writes it at once, *before* those steps are called. So the attempt number
//! is durable before the executor sees it, and a sequential chain costs one
//! write per step.

mod checkpoint;
mod finish;
mod in_flight;
mod reconcile;
mod retention;
mod setup;
mod transitions;
mod work;

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::Poll;

use consort_state::{LeaseGuard, WriteOp};
use futures_util::FutureExt;
use jiff::Timestamp;
use tokio::sync::watch;

use crate::context::RunShared;
use crate::engine::Inner;
use crate::error::WorkflowError;
use crate::events::Events;
use crate::graph::Plan;
use crate::ownership::{Ownership, Signal};
use crate::records::StepRecord;
use crate::settings::{Durability, RunSettings, SettingsChange};
use crate::stamp::Stamp;
use crate::status::{RunStatus, StepState};
use in_flight::InFlight;
use reconcile::Turn;
use work::{Alarm, Job, Wake, start};

/// Why the driver stops launching steps; later variants win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stop {
    None,
    /// A step waits for a human: launch nothing new, let calls in flight finish.
    WaitForHuman,
    /// The engine pauses the run: launch nothing new, let calls in flight
    /// finish until [`Driver::abandon_at`], then drop them.
    Pause,
    /// A step failed under fail-fast: drop calls in flight.
    FailFast,
    /// Cancelled: drop calls in flight.
    Cancel,
}

/// One run being driven by this engine.
pub(crate) struct Driver {
    inner: Arc<Inner>,
    /// The run id, the plan, the parameters and the outputs of completed
    /// steps, shared with every call's context.
    shared: Arc<RunShared>,
    /// Each step's record, without its outputs (those are in `shared`).
    records: Vec<StepRecord>,
    /// How this run executes its steps.
    settings: RunSettings,
    /// Changes of the settings made by resumes, written with the run record.
    settings_changes: Vec<SettingsChange>,
    /// Both, as the run record holds them: encoded at the first write of
    /// the record, and the same at every one after.
    settings_json: Option<Vec<u8>>,
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
    /// The turn counter that makes writes to a shared backend reconcilable.
    turn: Option<Turn>,
    /// Whether the last write met transient backend errors.
    outage: bool,
    /// When a pause drops the calls still in flight.
    abandon_at: Option<tokio::time::Instant>,
    /// The time of this turn's transitions; taken at its first use in a turn.
    stamp: Option<Stamp>,
    created_at: Timestamp,
    ownership: Ownership,
    events: Events,
}

impl Driver {
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

    /// What a watch of this run starts from: the plan, the steps completed
    /// and whether the run is recorded.
    pub(crate) fn progress(&self) -> (Arc<Plan>, usize, bool) {
        (
            Arc::clone(&self.shared.plan),
            self.completed,
            self.durable(),
        )
    }

    fn durable(&self) -> bool {
        self.settings.durability == Durability::Steps
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
        let mut in_flight = InFlight::default();
        let mut settled: Vec<Wake> = Vec::new();
        let mut alarm = Alarm::default();
        let mut signal = self.ownership.signal.clone();
        loop {
            self.launch_ready();
            self.flush().await?;
            // Only now, with the attempt numbers durable, may the calls start.
            if !self.jobs.is_empty() {
                let jobs = &mut self.jobs;
                std::future::poll_fn(|cx| {
                    start(
                        jobs,
                        executor.as_ref(),
                        cx,
                        &mut in_flight,
                        &mut alarm,
                        &mut settled,
                    );
                    Poll::Ready(())
                })
                .await;
            }
            if settled.is_empty() {
                // Stopped launching: only attempts are worth waiting for, not
                // the backoffs of retries that will not be made.
                if in_flight.is_empty() || (self.stop != Stop::None && self.executing == 0) {
                    break;
                }
                let abandon_at = self.abandon_at;
                let wake = tokio::select! {
                    biased;
                    changed = signal.changed() => {
                        // The sender lives as long as the ownership; an
                        // error cannot happen while driving: no news.
                        if changed.is_ok()
                            && let Err(outage) = self.observe(&mut signal)
                        {
                            return Err(self.lost_lease(outage).await);
                        }
                        None
                    }
                    Some(wake) = in_flight.next() => Some(wake),
                    () = alarm.rung() => {
                        alarm.expire(&mut in_flight, &mut settled);
                        None
                    }
                    () = until(abandon_at) => {
                        // Dropping the futures cancels the calls in flight;
                        // their steps stay `running` and run again on resume.
                        break;
                    }
                };
                settled.extend(wake);
            } else {
                // Calls that answered at once never waited: give the other
                // tasks of this thread their turn now and then.
                tokio::task::coop::consume_budget().await;
                if signal.has_changed().unwrap_or(false)
                    && let Err(outage) = self.observe(&mut signal)
                {
                    return Err(self.lost_lease(outage).await);
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

    /// Reacts to a change of the run's ownership signal; `Err(during_outage)`
    /// when the lease is lost.
    fn observe(&mut self, signal: &mut watch::Receiver<Signal>) -> Result<(), bool> {
        let now = *signal.borrow_and_update();
        match now {
            Signal::LeaseLost { during_outage } => return Err(during_outage),
            Signal::Cancel => self.stop_with(Stop::Cancel),
            Signal::Pause { abandon_at } => {
                self.stop_with(Stop::Pause);
                self.abandon_at = Some(abandon_at);
            }
            Signal::None => {}
        }
        Ok(())
    }

    /// Queues a call for each ready step, up to the concurrency limit.
    fn launch_ready(&mut self) {
        if self.stop != Stop::None {
            return;
        }
        while self.executing < self.settings.concurrency {
            let Some(index) = self.ready.pop_front() else {
                break;
            };
            if let Some(ctx) = self.prepare(index) {
                self.executing += 1;
                self.jobs.push(Job::Attempt {
                    index,
                    timeout: ctx.step.timeout.or(self.settings.step_timeout),
                    ctx,
                });
            }
        }
    }
}

/// Completes at `deadline`; never without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
