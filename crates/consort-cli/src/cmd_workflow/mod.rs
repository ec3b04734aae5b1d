//! `consort workflow`: validate, render, run (simulated), inspect and resume
//! collaboration workflows.
//!
//! Runs are recorded in a state backend: `memory` (this process only) or a
//! `redis://` URL, under the namespace `consort` unless `--namespace` says
//! otherwise, so `status` and `resume` work from another process.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use consort_protocol::{ExpertProfile, WorkflowSpec, from_json_str};
use consort_state::{MemoryBackend, RedisBackend, RedisConfig, StateBackend};
use consort_workflow::{
    Engine, EngineConfig, RenderFormat, RunState, RunStatus, SimulatedExecutor, WorkflowGraph,
    render, render_with_states, validate,
};
use serde::Serialize;

use crate::error::{CliError, load_experts, read_input};

/// Namespace of CLI runs in the state backend unless `--namespace` is given.
const DEFAULT_NAMESPACE: &str = "consort";

/// Arguments of `consort workflow`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check a workflow definition: structure, cycles and (with --experts)
    /// unknown experts. Lists every problem with its JSON path.
    Validate {
        /// Workflow definition (JSON).
        file: PathBuf,
        /// Expert registry to check expert ids against.
        #[arg(long, value_name = "REGISTRY")]
        experts: Option<PathBuf>,
    },
    /// Draw the workflow as Mermaid or DOT, optionally coloured by a run's step states.
    Render {
        /// Workflow definition (JSON).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Mermaid)]
        format: FormatArg,
        /// Colour steps by the state of this run.
        #[arg(long, value_name = "RUN_ID", requires = "backend")]
        run: Option<String>,
        #[command(flatten)]
        store: Store,
    },
    /// Run a workflow (only simulated experts exist until MCP executors land).
    Run {
        /// Workflow definition (JSON).
        file: PathBuf,
        /// Expert registry; every expert the workflow names must be in it.
        #[arg(long, value_name = "REGISTRY")]
        experts: PathBuf,
        #[command(flatten)]
        sim: Simulation,
        /// Run id (default: a fresh UUIDv7).
        #[arg(long, value_name = "ID")]
        run_id: Option<String>,
        /// Run parameters as a JSON object, handed to every step.
        #[arg(long, value_name = "JSON")]
        params: Option<String>,
        /// Most steps in flight at once.
        #[arg(long, value_name = "N", default_value_t = 16)]
        concurrency: usize,
        /// Print the final status as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
    /// Show a run's progress.
    Status {
        /// The run.
        run_id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
    /// Continue a run left by a process that died: completed steps are not run again.
    Resume {
        /// The run.
        run_id: String,
        #[command(flatten)]
        sim: Simulation,
        /// Print the final status as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Mermaid,
    Dot,
}

/// Where runs are recorded.
#[derive(Debug, clap::Args)]
struct Store {
    /// State backend: `memory` (this process only) or `redis://host:port/db`.
    #[arg(long, value_name = "URL")]
    backend: Option<String>,
    /// Namespace of the runs' keys in the backend.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_NAMESPACE)]
    namespace: String,
}

/// How steps are executed.
#[derive(Debug, clap::Args)]
struct Simulation {
    /// Simulate the experts: each step returns its declared outputs with
    /// placeholder values.
    #[arg(long)]
    simulate: bool,
    /// Simulated time per step, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    delay_ms: u64,
}

impl Store {
    /// `status` and `resume` read runs of other processes: memory cannot hold them.
    fn shared(&self, command: &str) -> Result<(), CliError> {
        match self.backend.as_deref() {
            None | Some("memory") => Err(CliError::BadInput(format!(
                "{command} needs --backend redis://...: a run in memory ends with its process"
            ))),
            Some(_) => Ok(()),
        }
    }
}

impl Simulation {
    fn executor(&self) -> Result<SimulatedExecutor, CliError> {
        if !self.simulate {
            return Err(CliError::BadInput(
                "only simulated execution exists until MCP executors land: pass --simulate".into(),
            ));
        }
        Ok(SimulatedExecutor::new().with_delay(Duration::from_millis(self.delay_ms)))
    }
}

pub(crate) fn run(args: Args) -> Result<(), CliError> {
    match args.command {
        Command::Validate { file, experts } => validate_file(&file, experts.as_deref()),
        Command::Render {
            file,
            format,
            run,
            store,
        } => {
            let graph = load_graph(&file, None)?;
            let format = match format {
                FormatArg::Mermaid => RenderFormat::Mermaid,
                FormatArg::Dot => RenderFormat::Dot,
            };
            let text = match run {
                Some(run_id) => {
                    let status = block_on(async {
                        let engine = engine(&store, SimulatedExecutor::new(), 1).await?;
                        engine.status(&run_id).await.map_err(failed)
                    })?;
                    render_with_states(&graph, &status, format)
                }
                None => render(&graph, format),
            };
            emit(text.as_bytes())
        }
        Command::Run {
            file,
            experts,
            sim,
            run_id,
            params,
            concurrency,
            json,
            store,
        } => {
            let executor = sim.executor()?;
            let experts = load_experts(&experts)?;
            let graph = load_graph(&file, Some(&experts))?;
            let params = match params {
                Some(text) => from_json_str(&text)
                    .map_err(|e| CliError::BadInput(format!("--params: {e}")))?,
                None => serde_json::Map::new(),
            };
            if concurrency == 0 {
                return Err(CliError::BadInput(
                    "--concurrency must be at least 1".into(),
                ));
            }
            let status = block_on(async {
                let engine = engine(&store, executor, concurrency).await?;
                let run = engine.new_run(&graph).with_params(params);
                let run = match run_id {
                    Some(id) => run.with_run_id(id),
                    None => run,
                };
                run.run_to_end().await.map_err(failed)
            })?;
            report(&status, json)
        }
        Command::Status {
            run_id,
            json,
            store,
        } => {
            store.shared("status")?;
            let status = block_on(async {
                let engine = engine(&store, SimulatedExecutor::new(), 1).await?;
                engine.status(&run_id).await.map_err(failed)
            })?;
            print_status(&status, json)
        }
        Command::Resume {
            run_id,
            sim,
            json,
            store,
        } => {
            let executor = sim.executor()?;
            store.shared("resume")?;
            let status = block_on(async {
                let engine = engine(&store, executor, 16).await?;
                engine.resume(&run_id).run_to_end().await.map_err(failed)
            })?;
            report(&status, json)
        }
    }
}

fn failed(e: consort_workflow::WorkflowError) -> CliError {
    match e {
        consort_workflow::WorkflowError::InvalidRunId { .. } => CliError::BadInput(e.to_string()),
        e => CliError::Failed(e.to_string()),
    }
}

fn block_on<T>(work: impl Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?
        .block_on(work)
}

async fn engine(
    store: &Store,
    executor: SimulatedExecutor,
    concurrency: usize,
) -> Result<Engine, CliError> {
    let backend = connect(store).await?;
    let config = EngineConfig::default().with_concurrency(concurrency);
    Engine::new(backend, Arc::new(executor), config).map_err(|e| CliError::BadInput(e.to_string()))
}

async fn connect(store: &Store) -> Result<Arc<dyn StateBackend>, CliError> {
    let url = store.backend.as_deref().unwrap_or("memory");
    let bad_namespace =
        |e: consort_state::StateError| CliError::BadInput(format!("--namespace: {e}"));
    if url == "memory" {
        return Ok(Arc::new(
            MemoryBackend::new(&store.namespace).map_err(bad_namespace)?,
        ));
    }
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(CliError::BadInput(format!(
            "--backend {url:?}: expected `memory` or a redis:// URL"
        )));
    }
    let config = RedisConfig::new(url, store.namespace.clone());
    match RedisBackend::connect(config).await {
        Ok(backend) => Ok(Arc::new(backend)),
        Err(e @ consort_state::StateError::InvalidKey { .. }) => Err(bad_namespace(e)),
        Err(e) => Err(CliError::Failed(format!("--backend: {e}"))),
    }
}

fn load_spec(file: &Path) -> Result<WorkflowSpec, CliError> {
    from_json_str(&read_input(file)?).map_err(|e| CliError::in_file(file, &e))
}

fn problems_error(file: &Path, problems: &[consort_workflow::Problem]) -> CliError {
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

fn load_graph(file: &Path, experts: Option<&[ExpertProfile]>) -> Result<WorkflowGraph, CliError> {
    let spec = load_spec(file)?;
    let problems = validate(&spec, experts);
    if !problems.is_empty() {
        return Err(problems_error(file, &problems));
    }
    WorkflowGraph::build(&spec, experts)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", file.display())))
}

fn validate_file(file: &Path, experts: Option<&Path>) -> Result<(), CliError> {
    let experts = experts.map(load_experts).transpose()?;
    let graph = load_graph(file, experts.as_deref())?;
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

/// The `--json` shape of a status.
#[derive(Serialize)]
struct JsonStatus<'a> {
    run_id: &'a str,
    workflow: &'a str,
    state: RunState,
    percent_complete: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    steps: &'a [consort_workflow::StepStatus],
}

fn print_status(status: &RunStatus, json: bool) -> Result<(), CliError> {
    let text = if json {
        let shape = JsonStatus {
            run_id: &status.run_id,
            workflow: &status.workflow,
            state: status.state,
            percent_complete: status.percent_complete,
            error: status.error.as_deref(),
            steps: &status.steps,
        };
        let mut text = serde_json::to_string_pretty(&shape)
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
        out.push_str(&format!("error: {error}\n"));
    }
    for step in &status.steps {
        let when = match (step.started_at, step.finished_at) {
            (Some(start), Some(end)) => format!("{start} .. {end}"),
            (Some(start), None) => format!("since {start}"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  {:>3}  {:<18} {:<36} {:<20} attempts {}  {}\n",
            step.id,
            step.state.as_str(),
            step.name,
            step.expert,
            step.attempts,
            when
        ));
        if let Some(question) = &step.question {
            out.push_str(&format!("       question: {question}\n"));
        }
    }
    out
}

/// Prints the status and turns a run that did not complete into exit code 1.
fn report(status: &RunStatus, json: bool) -> Result<(), CliError> {
    print_status(status, json)?;
    match status.state {
        RunState::Completed => Ok(()),
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

fn emit(bytes: &[u8]) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::Failed(format!("writing to stdout: {e}")))
}
