//! `consort resolve`: detect and resolve conflicts between expert
//! recommendations.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use consort_conflict::{ConflictError, Report, ResolveInput};

use crate::error::{CliError, load_experts, load_json};

/// Arguments of `consort resolve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Expert registry: the spec's `{"expert_registry": {...}}` or an array
    /// of profiles.
    #[arg(long, value_name = "REGISTRY.json")]
    experts: PathBuf,
    /// `{"recommendations": [...], "capacities": {"budget": 50000}, "policy": {...}}`;
    /// capacities and policy are optional.
    #[arg(value_name = "INPUT.json")]
    input: PathBuf,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> Result<(), CliError> {
    let Args {
        experts: registry,
        input: file,
        json,
    } = args;
    let experts = load_experts(&registry)?;
    let input: ResolveInput = load_json(&file)?;
    if input.recommendations.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: recommendations: the list is empty; there is nothing to resolve",
            file.display()
        )));
    }
    let report = input
        .resolve(&experts)
        .map_err(|e| blame(&e, &registry, &file))?;
    write_report(&report, json)
}

/// Points a resolution error at the file that holds the bad value.
fn blame(err: &ConflictError, experts: &Path, input: &Path) -> CliError {
    match err {
        ConflictError::Strategy { .. } => CliError::Failed(err.to_string()),
        ConflictError::DuplicateExpert { .. } | ConflictError::InvalidProfile { .. } => {
            CliError::BadInput(format!("{}: {err}", experts.display()))
        }
        _ => CliError::BadInput(format!("{}: {err}", input.display())),
    }
}

fn write_report(report: &Report, json: bool) -> Result<(), CliError> {
    let text = if json {
        let mut text = serde_json::to_string_pretty(report)
            .map_err(|e| CliError::Failed(format!("cannot serialise the report: {e}")))?;
        text.push('\n');
        text
    } else {
        report.to_string()
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| CliError::Failed(format!("cannot write the report: {e}")))
}
