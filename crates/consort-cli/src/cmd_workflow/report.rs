//! What `run`, `resume` and `status` print: a run's status as a table or as
//! JSON on stdout.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use consort_workflow::{RunSettings, RunState, RunStatus};

use crate::error::CliError;

/// Prints `status` as JSON or as a table.
pub(super) fn print_status(status: &RunStatus, json: bool) -> Result<(), CliError> {
    let text = if json {
        let mut text = serde_json::to_string_pretty(status)
            .map_err(|e| CliError::Failed(format!("encoding the status: {e}")))?;
        text.push('\n');
        text
    } else {
        table(status)
    };
    emit(text.as_bytes())
}

fn table(status: &RunStatus) -> String {
    let mut out = format!(
        "run {} ({}): {}, {:.0}% complete\n",
        status.run_id, status.workflow, status.state, status.percent_complete
    );
    if let Some(error) = &status.error {
        let _ = writeln!(out, "error: {error}");
    }
    if let Some(owner) = &status.owner {
        let _ = writeln!(
            out,
            "driven by {}; its lease lapses in {:.1} s unless renewed",
            owner.holder,
            owner.lease_lapses_in.as_secs_f64()
        );
    } else if !status.state.is_finished() {
        let _ = writeln!(out, "not driven by any engine");
    }
    if let Some(settings) = &status.settings {
        let _ = writeln!(out, "settings: {}", describe(settings));
    }
    for change in &status.settings_changes {
        let _ = writeln!(
            out,
            "  changed {} by {}: {} (was {})",
            change.at,
            change.by,
            describe(&change.after),
            describe(&change.before)
        );
    }
    for step in &status.steps {
        let when = match (step.started_at, step.finished_at) {
            (Some(start), Some(end)) => format!("{start} .. {end}"),
            (Some(start), None) => format!("since {start}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:>3}  {:<18} {:<36} {:<20} attempts {}  {}",
            step.id,
            step.state.as_str(),
            step.name,
            step.expert,
            step.attempts,
            when
        );
        if let Some(question) = &step.question {
            let _ = writeln!(out, "       question: {question}");
        }
    }
    out
}

/// `concurrency 4, fail_fast, 3 attempts (backoff 100ms..10s), step timeout 5m`.
fn describe(settings: &RunSettings) -> String {
    let policy = serde_json::to_value(settings.failure_policy)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let timeout = settings
        .step_timeout
        .map_or_else(|| "none".to_owned(), |t| format!("{t:?}"));
    format!(
        "concurrency {}, {policy}, {} attempts (backoff {:?}..{:?}), step timeout {timeout}",
        settings.concurrency,
        settings.retry.max_attempts,
        settings.retry.initial_backoff,
        settings.retry.max_backoff,
    )
}

/// Prints the status; a run that did not complete is exit code 1.
pub(super) fn report(status: &RunStatus, json: bool) -> Result<ExitCode, CliError> {
    print_status(status, json)?;
    match status.state {
        RunState::Completed => Ok(ExitCode::SUCCESS),
        state => Err(CliError::Failed(format!(
            "run {} ended {state}{}",
            status.run_id,
            status
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ))),
    }
}

/// Writes `bytes` to stdout.
pub(super) fn emit(bytes: &[u8]) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("writing to stdout: {e}")))
}
