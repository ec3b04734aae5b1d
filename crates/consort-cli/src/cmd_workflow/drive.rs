//! `run` and `resume`: drive a run in this process, show its progress, and
//! on Ctrl-C or SIGTERM pause it so that `resume` continues it at once.

use std::process::ExitCode;
use std::time::Duration;

use consort_workflow::{
    Engine, FailurePolicy, RetryPolicy, RunHandle, RunSettings, RunState, RunStatus, RunWatch,
    WorkflowError,
};
use tokio::task::JoinHandle;

use super::duration::parse_duration;
use super::progress::Progress;
use super::report::report;
use crate::error::CliError;
use crate::say;
use crate::signals::{Interrupt, Signals};

/// How long the steps in flight get to finish after Ctrl-C or SIGTERM; a
/// second signal abandons them at once.
const GRACE: Duration = Duration::from_secs(10);

/// How long the progress view gets to show the run's last event.
const LAST_WORDS: Duration = Duration::from_secs(2);

/// Run settings given on the command line: for `run` they change the
/// defaults, for `resume` they change what the run was started with (and
/// the change is recorded in the run).
#[derive(Debug, Clone, Copy, clap::Args)]
pub(super) struct SettingsFlags {
    /// Most steps in flight at once (default 16 for a new run).
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// What a step failing for good does to the run (default fail-fast).
    #[arg(long, value_enum, value_name = "POLICY")]
    failure_policy: Option<PolicyArg>,
    /// Attempts per step, the first included, for steps without a `retry` of
    /// their own (default 3; at most 100).
    #[arg(long, value_name = "N")]
    max_attempts: Option<u32>,
    /// Limit of one attempt for steps without `timeout_ms` (default 5m; at
    /// most 24h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, conflicts_with = "no_step_timeout")]
    step_timeout: Option<Duration>,
    /// Let attempts take as long as they take.
    #[arg(long)]
    no_step_timeout: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PolicyArg {
    FailFast,
    ContinueOnFailure,
}

impl SettingsFlags {
    fn given(&self) -> bool {
        self.concurrency.is_some()
            || self.failure_policy.is_some()
            || self.max_attempts.is_some()
            || self.step_timeout.is_some()
            || self.no_step_timeout
    }

    fn apply(self, mut settings: RunSettings) -> RunSettings {
        if let Some(limit) = self.concurrency {
            settings = settings.with_concurrency(limit);
        }
        if let Some(policy) = self.failure_policy {
            settings = settings.with_failure_policy(match policy {
                PolicyArg::FailFast => FailurePolicy::FailFast,
                PolicyArg::ContinueOnFailure => FailurePolicy::ContinueOnFailure,
            });
        }
        if let Some(attempts) = self.max_attempts {
            let retry: RetryPolicy = settings.retry;
            settings = settings.with_retry(retry.with_max_attempts(attempts));
        }
        if let Some(timeout) = self.step_timeout {
            settings = settings.with_step_timeout(timeout);
        }
        if self.no_step_timeout {
            settings = settings.without_step_timeout();
        }
        settings
    }
}

/// Output options of `run` and `resume`.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(super) struct Output {
    /// Print the final status as JSON.
    #[arg(long)]
    json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

impl Output {
    pub(super) fn progress(self, verbose: bool) -> Progress {
        Progress::choose(self.quiet, verbose)
    }
}

/// A started run: its handle and, when progress is shown, its watch.
pub(super) type Started = (RunHandle, Option<RunWatch>);

/// Turns settings refused by the engine into bad input.
pub(super) fn start_failed(e: WorkflowError) -> CliError {
    match e {
        WorkflowError::InvalidConfig { .. } | WorkflowError::InvalidRunId { .. } => {
            CliError::BadInput(e.to_string())
        }
        e => CliError::Failed(e.to_string()),
    }
}

/// `run`: a new run of `graph`.
pub(super) async fn run(
    engine: &Engine,
    graph: &consort_workflow::WorkflowGraph,
    params: consort_workflow::JsonMap,
    run_id: Option<String>,
    flags: SettingsFlags,
    output: Output,
    progress: Progress,
) -> Result<ExitCode, CliError> {
    let mut builder = engine
        .new_run(graph)
        .with_params(params)
        .with_settings(|s| flags.apply(s));
    if let Some(id) = run_id {
        builder = builder.with_run_id(id);
    }
    let started = if progress == Progress::Quiet {
        (builder.start().await.map_err(start_failed)?, None)
    } else {
        let (handle, watch) = builder.start_watched().await.map_err(start_failed)?;
        (handle, Some(watch))
    };
    finish(engine, started, output, progress).await
}

/// `resume`: continue a stored run, waiting up to `wait` for a dead
/// holder's lease to lapse.
pub(super) async fn resume(
    engine: &Engine,
    run_id: &str,
    flags: SettingsFlags,
    wait: Option<Duration>,
    output: Output,
    progress: Progress,
) -> Result<ExitCode, CliError> {
    let take = |lease_wait: Duration| async move {
        let mut builder = engine.resume(run_id).with_lease_wait(lease_wait);
        if flags.given() {
            builder = builder.with_settings(move |s| flags.apply(s));
        }
        if progress == Progress::Quiet {
            builder.start().await.map(|handle| (handle, None))
        } else {
            builder
                .start_watched()
                .await
                .map(|(handle, watch)| (handle, Some(watch)))
        }
    };
    let started = match (take(Duration::ZERO).await, wait) {
        (Ok(started), _) => started,
        (
            Err(WorkflowError::RunOwned {
                holder,
                lease_lapses_in,
                ..
            }),
            Some(max),
        ) => {
            let lapse = lease_lapses_in
                .map(|left| {
                    format!(
                        "; its lease lapses in {:.1} s unless renewed",
                        left.as_secs_f64()
                    )
                })
                .unwrap_or_default();
            say(&format!(
                "run {run_id} is driven by {holder}{lapse}: waiting up to {:.0} s for the lease to lapse",
                max.as_secs_f64()
            ));
            take(max).await.map_err(start_failed)?
        }
        (Err(e @ WorkflowError::RunOwned { .. }), None) => {
            return Err(CliError::Failed(format!(
                "{e}; `consort workflow resume {run_id} --wait` waits for it"
            )));
        }
        (Err(e), _) => return Err(start_failed(e)),
    };
    finish(engine, started, output, progress).await
}

/// Waits for the run, showing its progress; Ctrl-C or SIGTERM pauses it.
async fn finish(
    engine: &Engine,
    (handle, watch): Started,
    output: Output,
    progress: Progress,
) -> Result<ExitCode, CliError> {
    let run_id = handle.run_id().to_owned();
    let view: Option<JoinHandle<()>> = watch.map(|watch| tokio::spawn(progress.show(watch)));
    let (status, interrupt) = drive_until_signalled(engine, handle).await;
    if let Some(view) = view {
        // The run's last event is on its way: let the view show it.
        let abort = view.abort_handle();
        if tokio::time::timeout(LAST_WORDS, view).await.is_err() {
            abort.abort();
        }
    }
    let status = status.map_err(super::failed)?;
    match interrupt {
        Some(signal) if status.state == RunState::Paused => {
            super::report::print_status(&status, output.json)?;
            say(&format!(
                "run {run_id} paused; consort workflow resume {run_id} continues it"
            ));
            Ok(ExitCode::from(signal.exit_code()))
        }
        _ => report(&status, output.json),
    }
}

/// Waits for the run; the first Ctrl-C or SIGTERM pauses it with a grace
/// period for the steps in flight, a second one abandons them.
async fn drive_until_signalled(
    engine: &Engine,
    handle: RunHandle,
) -> (Result<RunStatus, WorkflowError>, Option<Interrupt>) {
    let run_id = handle.run_id().to_owned();
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C and SIGTERM; they will not pause the run");
            return (handle.wait().await, None);
        }
    };
    let mut interrupt = None;
    let wait = handle.wait();
    tokio::pin!(wait);
    loop {
        tokio::select! {
            status = &mut wait => return (status, interrupt),
            signal = signals.next() => {
                let grace = if interrupt.is_some() { Duration::ZERO } else { GRACE };
                interrupt.get_or_insert(signal);
                engine.pause(&run_id, grace);
                if grace.is_zero() {
                    say("abandoning the steps in flight; they run again on resume");
                } else {
                    say(&format!(
                        "pausing run {run_id}: the steps in flight get {} s to finish (again to abandon them)",
                        grace.as_secs()
                    ));
                }
            }
        }
    }
}
