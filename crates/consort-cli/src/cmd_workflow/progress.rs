//! A run's progress on stderr while this process drives it: one live line
//! per step when stderr is a terminal (indicatif), plain lines otherwise,
//! nothing with `--quiet`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use consort_protocol::StepNumber;
use consort_workflow::{ProgressKind, RunProgress, RunState, RunWatch};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// Not at all (`--quiet`).
    Quiet,
    /// One live line per step (stderr is a terminal).
    Live,
    /// One plain line per event (stderr is a file or a pipe, or diagnostics
    /// are on and would tear live lines apart).
    Lines,
}

impl Progress {
    pub(super) fn choose(quiet: bool, diagnostics: bool) -> Self {
        if quiet {
            Self::Quiet
        } else if std::io::stderr().is_terminal() && !diagnostics {
            Self::Live
        } else {
            Self::Lines
        }
    }

    /// Shows the updates of `watch` until the run stops being driven here
    /// (it completed, failed, paused, waits for a human).
    pub(super) async fn show(self, mut watch: RunWatch) {
        let mut view: Box<dyn View + Send> = match self {
            Self::Quiet => return,
            Self::Live => Box::new(Live::new()),
            Self::Lines => Box::new(Lines),
        };
        while let Some(Ok(update)) = watch.recv().await {
            view.show(&update);
            if update.kind != ProgressKind::Attached && update.run_state != RunState::Running {
                break;
            }
        }
        view.close();
    }
}

trait View {
    fn show(&mut self, update: &RunProgress);
    fn close(&mut self) {}
}

/// `step 3 Creative Development`.
fn label(update: &RunProgress) -> String {
    match (update.step, update.step_name.as_deref()) {
        (Some(step), Some(name)) => format!("step {step} {name}"),
        (Some(step), None) => format!("step {step}"),
        _ => "run".to_owned(),
    }
}

/// What a run-level update says, or `None` for step updates.
fn run_line(update: &RunProgress) -> Option<String> {
    let counts = format!("{} of {} steps", update.completed, update.total);
    let detail = update
        .detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    let line = match update.kind {
        ProgressKind::Started => format!("run {} started{detail} ({counts} done)", update.run_id),
        ProgressKind::WaitingForHuman if update.step.is_none() => {
            format!("run {} waits for a human ({counts} done)", update.run_id)
        }
        ProgressKind::Completed
        | ProgressKind::Failed
        | ProgressKind::Cancelled
        | ProgressKind::Paused => {
            format!(
                "run {} {}{detail} ({counts} done)",
                update.run_id, update.run_state
            )
        }
        _ => return None,
    };
    Some(line)
}

/// Plain lines on stderr.
struct Lines;

impl View for Lines {
    fn show(&mut self, update: &RunProgress) {
        let step = label(update);
        let attempt = update.attempt.unwrap_or(1);
        let detail = update.detail.as_deref().unwrap_or("");
        let line = match update.kind {
            ProgressKind::Attached => return,
            ProgressKind::StepStarted => format!("{step}: started, attempt {attempt}"),
            ProgressKind::StepCompleted => format!(
                "{step}: completed ({} of {})",
                update.completed, update.total
            ),
            ProgressKind::StepFailed => format!("{step}: attempt {attempt} failed: {detail}"),
            ProgressKind::StepProgress => format!("{step}: {detail}"),
            ProgressKind::WaitingForHuman if update.step.is_some() => {
                format!("{step}: waits for a human: {detail}")
            }
            _ => match run_line(update) {
                Some(line) => line,
                None => return,
            },
        };
        // Progress is a courtesy: a closed stderr must not stop the run.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// A bar for the run and a live line per step.
struct Live {
    bars: MultiProgress,
    overall: ProgressBar,
    steps: HashMap<StepNumber, ProgressBar>,
    spinner: ProgressStyle,
}

impl Live {
    fn new() -> Self {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall_style = ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let overall = bars.add(ProgressBar::new(0).with_style(overall_style));
        let spinner = ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        Self {
            bars,
            overall,
            steps: HashMap::new(),
            spinner,
        }
    }

    /// The line of `update`'s step, made when first seen.
    fn line(&mut self, update: &RunProgress) -> Option<&ProgressBar> {
        let step = update.step?;
        let (bars, spinner) = (&self.bars, &self.spinner);
        Some(self.steps.entry(step).or_insert_with(|| {
            let line = bars.add(ProgressBar::new_spinner().with_style(spinner.clone()));
            line.enable_steady_tick(Duration::from_millis(120));
            line
        }))
    }
}

impl View for Live {
    fn show(&mut self, update: &RunProgress) {
        self.overall
            .set_length(u64::try_from(update.total).unwrap_or(u64::MAX));
        self.overall
            .set_position(u64::try_from(update.completed).unwrap_or(u64::MAX));
        let step = label(update);
        let attempt = update.attempt.unwrap_or(1);
        let detail = update.detail.clone().unwrap_or_default();
        match update.kind {
            ProgressKind::StepStarted => {
                if let Some(line) = self.line(update) {
                    line.set_message(format!("{step}, attempt {attempt}"));
                }
            }
            ProgressKind::StepCompleted => {
                if let Some(line) = self.line(update) {
                    line.finish_with_message(format!("done {step}"));
                }
            }
            ProgressKind::StepFailed => {
                if let Some(line) = self.line(update) {
                    line.set_message(format!("{step}, attempt {attempt} failed: {detail}"));
                }
            }
            ProgressKind::StepProgress => {
                if let Some(line) = self.line(update) {
                    line.set_message(format!("{step}, attempt {attempt}: {detail}"));
                }
            }
            ProgressKind::WaitingForHuman if update.step.is_some() => {
                if let Some(line) = self.line(update) {
                    line.finish_with_message(format!("{step} waits for a human: {detail}"));
                }
            }
            _ => {
                if let Some(line) = run_line(update) {
                    self.overall.set_message(line);
                }
            }
        }
    }

    fn close(&mut self) {
        // Steps still running (abandoned by a pause) keep their last words.
        for line in self.steps.values() {
            if !line.is_finished() {
                line.abandon();
            }
        }
        self.overall.abandon();
    }
}
