//! Workflow definitions on the command line: loading, `validate`, `render`.

use std::path::Path;

use consort_protocol::{ExpertProfile, WorkflowSpec, from_json_str};
use consort_workflow::{
    Engine, Problem, RenderFormat, WorkflowError, WorkflowGraph, render, render_with_states,
    validate, validate_for,
};

use super::report::emit;
use crate::error::{CliError, load_experts, read_input};

/// Output format of `render`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum FormatArg {
    Mermaid,
    Dot,
}

impl From<FormatArg> for RenderFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Mermaid => RenderFormat::Mermaid,
            FormatArg::Dot => RenderFormat::Dot,
        }
    }
}

pub(crate) fn load_spec(file: &Path) -> Result<WorkflowSpec, CliError> {
    from_json_str(&read_input(file)?).map_err(|e| CliError::in_file(file, &e))
}

pub(crate) fn problems_error(file: &Path, problems: &[Problem]) -> CliError {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {p}", file.display()))
        .collect();
    CliError::BadInput(format!(
        "{} problem(s) in {}:\n{}",
        problems.len(),
        file.display(),
        lines.join("\n")
    ))
}

/// The validated graph of the definition in `file`, checked against
/// `experts` when given: every problem is bad input.
pub(super) fn load_graph(
    file: &Path,
    experts: Option<&[ExpertProfile]>,
) -> Result<WorkflowGraph, CliError> {
    let spec = load_spec(file)?;
    let problems = match experts {
        Some(experts) => validate_for(&spec, experts),
        None => validate(&spec),
    };
    if !problems.is_empty() {
        return Err(problems_error(file, &problems));
    }
    match experts {
        Some(experts) => WorkflowGraph::build_for(&spec, experts),
        None => WorkflowGraph::build(&spec),
    }
    .map_err(|e| CliError::BadInput(format!("{}: {e}", file.display())))
}

/// Fails when the definition in `file` does not fit in one value of the
/// engine's backend, where a run stores it: bad input, found before any run.
pub(super) fn check_fits(
    engine: &Engine,
    file: &Path,
    graph: &WorkflowGraph,
) -> Result<(), CliError> {
    engine.check_definition(graph).map_err(|e| match e {
        WorkflowError::DefinitionTooLarge { .. } => {
            CliError::BadInput(format!("{}: {e}", file.display()))
        }
        e => CliError::Failed(e.to_string()),
    })
}

/// `validate`: the definition's problems, or a one-line summary.
pub(super) async fn validate_file(
    file: &Path,
    experts: Option<&Path>,
    engine: &Engine,
) -> Result<(), CliError> {
    let experts = experts.map(load_experts).transpose()?;
    let graph = load_graph(file, experts.as_deref())?;
    check_fits(engine, file, &graph)?;
    let roots = graph
        .steps()
        .iter()
        .filter(|s| graph.dependencies_of(s.number).is_empty())
        .count();
    let line = format!(
        "{}: workflow {:?} is valid: {} steps, {} dependencies, {} starting step(s)\n",
        file.display(),
        graph.name(),
        graph.len(),
        graph.edges().len(),
        roots
    );
    emit(line.as_bytes())
}

/// `render`: the graph, coloured by the states of run `run` when given.
pub(super) async fn render_file(
    file: &Path,
    format: FormatArg,
    run: Option<(&str, &Engine)>,
) -> Result<(), CliError> {
    let graph = load_graph(file, None)?;
    let text = match run {
        Some((run_id, engine)) => {
            let status = engine.status(run_id).await.map_err(super::failed)?;
            render_with_states(&graph, &status, format.into())
        }
        None => render(&graph, format.into()),
    };
    emit(text.as_bytes())
}
