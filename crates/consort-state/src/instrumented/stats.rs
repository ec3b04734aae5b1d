//! What [`Instrumented`](super::Instrumented) counts: per operation, calls
//! and errors in atomics (readable without a metrics recorder) and the same
//! plus a latency histogram through the `metrics` facade.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{Counter, Histogram};

/// One [`StateBackend`](crate::StateBackend) operation, as counted by
/// [`Instrumented`](super::Instrumented) and labelled in its metrics (`op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StateOp {
    /// [`get`](crate::StateBackend::get).
    Get,
    /// [`get_many`](crate::StateBackend::get_many).
    GetMany,
    /// [`set`](crate::StateBackend::set).
    Set,
    /// [`delete`](crate::StateBackend::delete).
    Delete,
    /// [`compare_and_set`](crate::StateBackend::compare_and_set).
    CompareAndSet,
    /// [`increment`](crate::StateBackend::increment).
    Increment,
    /// [`expire`](crate::StateBackend::expire).
    Expire,
    /// `time_to_live`.
    TimeToLive,
    /// [`list`](crate::StateBackend::list).
    List,
    /// [`apply`](crate::StateBackend::apply).
    Apply,
    /// [`publish`](crate::StateBackend::publish).
    Publish,
    /// [`subscribe`](crate::StateBackend::subscribe).
    Subscribe,
    /// [`acquire_lease`](crate::StateBackend::acquire_lease).
    AcquireLease,
    /// [`renew_lease`](crate::StateBackend::renew_lease).
    RenewLease,
    /// [`release_lease`](crate::StateBackend::release_lease).
    ReleaseLease,
    /// [`current_lease`](crate::StateBackend::current_lease).
    CurrentLease,
}

impl StateOp {
    /// Every operation, in declaration order.
    pub const ALL: [StateOp; 16] = [
        StateOp::Get,
        StateOp::GetMany,
        StateOp::Set,
        StateOp::Delete,
        StateOp::CompareAndSet,
        StateOp::Increment,
        StateOp::Expire,
        StateOp::TimeToLive,
        StateOp::List,
        StateOp::Apply,
        StateOp::Publish,
        StateOp::Subscribe,
        StateOp::AcquireLease,
        StateOp::RenewLease,
        StateOp::ReleaseLease,
        StateOp::CurrentLease,
    ];

    /// The trait method's name, e.g. `"compare_and_set"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StateOp::Get => "get",
            StateOp::GetMany => "get_many",
            StateOp::Set => "set",
            StateOp::Delete => "delete",
            StateOp::CompareAndSet => "compare_and_set",
            StateOp::Increment => "increment",
            StateOp::Expire => "expire",
            StateOp::TimeToLive => "time_to_live",
            StateOp::List => "list",
            StateOp::Apply => "apply",
            StateOp::Publish => "publish",
            StateOp::Subscribe => "subscribe",
            StateOp::AcquireLease => "acquire_lease",
            StateOp::RenewLease => "renew_lease",
            StateOp::ReleaseLease => "release_lease",
            StateOp::CurrentLease => "current_lease",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Calls and errors of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpStats {
    /// Calls that completed (successfully or not).
    pub calls: u64,
    /// Calls that returned an error.
    pub errors: u64,
}

/// A snapshot of [`Instrumented::stats`](super::Instrumented::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateStats {
    ops: [OpStats; StateOp::ALL.len()],
}

impl StateStats {
    /// The figures of one operation.
    pub fn op(&self, op: StateOp) -> OpStats {
        self.ops[op.index()]
    }

    /// Calls of all operations together.
    pub fn total_calls(&self) -> u64 {
        self.ops.iter().map(|s| s.calls).sum()
    }

    /// Errors of all operations together.
    pub fn total_errors(&self) -> u64 {
        self.ops.iter().map(|s| s.errors).sum()
    }

    /// Every operation with its figures.
    pub fn iter(&self) -> impl Iterator<Item = (StateOp, OpStats)> + '_ {
        StateOp::ALL.iter().map(|&op| (op, self.op(op)))
    }
}

/// Names of the metrics the layer records, labelled `op` and `namespace`.
pub(super) const CALLS: &str = "consort_state_calls_total";
pub(super) const ERRORS: &str = "consort_state_errors_total";
pub(super) const DURATION: &str = "consort_state_call_duration_seconds";

#[derive(Debug)]
struct OpCounters {
    calls: AtomicU64,
    errors: AtomicU64,
    calls_metric: Counter,
    errors_metric: Counter,
    duration: Histogram,
}

/// The live counters of one layer.
#[derive(Debug)]
pub(super) struct Recorder {
    ops: [OpCounters; StateOp::ALL.len()],
}

impl Recorder {
    /// Registers every metric once, so a call only bumps handles: the
    /// recorder installed at this point is the one that receives them.
    pub(super) fn new(namespace: &str) -> Self {
        metrics::describe_counter!(CALLS, "StateBackend calls, by operation");
        metrics::describe_counter!(ERRORS, "StateBackend calls that returned an error");
        metrics::describe_histogram!(
            DURATION,
            metrics::Unit::Seconds,
            "StateBackend call latency"
        );
        let ops = StateOp::ALL.map(|op| {
            let labels = [
                ("op", op.as_str().to_owned()),
                ("namespace", namespace.to_owned()),
            ];
            OpCounters {
                calls: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                calls_metric: metrics::counter!(CALLS, &labels),
                errors_metric: metrics::counter!(ERRORS, &labels),
                duration: metrics::histogram!(DURATION, &labels),
            }
        });
        Self { ops }
    }

    pub(super) fn record(&self, op: StateOp, took: Duration, failed: bool) {
        let c = &self.ops[op.index()];
        c.calls.fetch_add(1, Ordering::Relaxed);
        c.calls_metric.increment(1);
        if failed {
            c.errors.fetch_add(1, Ordering::Relaxed);
            c.errors_metric.increment(1);
        }
        c.duration.record(took);
    }

    pub(super) fn snapshot(&self) -> StateStats {
        let mut stats = StateStats::default();
        for (out, c) in stats.ops.iter_mut().zip(&self.ops) {
            *out = OpStats {
                calls: c.calls.load(Ordering::Relaxed),
                errors: c.errors.load(Ordering::Relaxed),
            };
        }
        stats
    }
}
