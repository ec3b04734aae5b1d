//! `consort workflow`: validate, render, run (calling the experts' MCP
//! servers, or simulated), inspect and resume collaboration workflows.
//!
//! Runs are recorded in a state backend: `memory` (this process only) or a
//! `redis://`/`rediss://` URL (from `--backend` or `CONSORT_REDIS_URL`),
//! under the namespace `consort` unless `--namespace` says otherwise, so
//! `status` and `resume` work from another process.

pub(crate) mod definition;
mod drive;
pub(crate) mod duration;
mod progress;
mod report;
pub(crate) mod store;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use consort_protocol::from_json_str;
use consort_workflow::WorkflowError;

use crate::error::{CliError, load_experts};
use crate::execution::Execution;
use definition::{FormatArg, check_fits, load_graph, render_file, validate_file};
use drive::{Output, SettingsFlags};
use duration::parse_duration;
use store::Store;

/// Arguments of `consort workflow`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Check a workflow definition: structure, cycles, (with --experts)
    /// unknown experts, and that it fits in one value of the backend. Lists
    /// every problem with its JSON path.
    Validate {
        /// Workflow definition (JSON).
        file: PathBuf,
        /// Expert registry to check expert ids against.
        #[arg(long, value_name = "REGISTRY")]
        experts: Option<PathBuf>,
        #[command(flatten)]
        store: Store,
    },
    /// Draw the workflow as Mermaid or DOT, optionally coloured by a run's step states.
    Render {
        /// Workflow definition (JSON).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Mermaid)]
        format: FormatArg,
        /// Colour steps by the state of this run (needs a shared backend).
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
        #[command(flatten)]
        store: Store,
    },
    /// Run a workflow: each step calls its expert's MCP server (--deploy), or
    /// simulated experts answer (--simulate). Progress goes to stderr; Ctrl-C
    /// or SIGTERM pauses the run (exit 130 or 143) and `resume` continues it.
    Run {
        /// Workflow definition (JSON).
        file: PathBuf,
        /// Expert registry; every expert the workflow names must be in it.
        #[arg(long, value_name = "REGISTRY")]
        experts: PathBuf,
        #[command(flatten)]
        execution: Execution,
        /// Run id (default: a fresh UUIDv7).
        #[arg(long, value_name = "ID")]
        run_id: Option<String>,
        /// Run parameters as a JSON object, handed to every step.
        #[arg(long, value_name = "JSON")]
        params: Option<String>,
        #[command(flatten)]
        settings: SettingsFlags,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        store: Store,
    },
    /// Show a run's progress, who drives it and when that engine's lease
    /// lapses, and the settings it runs with.
    Status {
        /// The run.
        run_id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
    /// Continue a paused run, or one left by a process that died, with the
    /// settings it was started with: completed steps are not run again.
    /// Settings flags change them (the change is recorded in the run).
    Resume {
        /// The run.
        run_id: String,
        #[command(flatten)]
        execution: Execution,
        /// Expert registry: checks the deployment's expert ids and gives the
        /// endpoints of http experts without a `url`.
        #[arg(long, value_name = "REGISTRY")]
        experts: Option<PathBuf>,
        /// While another engine holds the run's lease, wait up to DURATION
        /// (default 1m) for it to lapse instead of failing.
        #[arg(
            long,
            value_name = "DURATION",
            num_args = 0..=1,
            require_equals = true,
            default_missing_value = "1m",
            value_parser = parse_duration
        )]
        wait: Option<Duration>,
        #[command(flatten)]
        settings: SettingsFlags,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        store: Store,
    },
}

/// Runs `consort workflow`; `diagnostics` says whether tracing output goes
/// to stderr too (live progress lines would tear it apart).
pub(crate) fn run(args: Args, diagnostics: bool) -> Result<ExitCode, CliError> {
    match args.command {
        Command::Validate {
            file,
            experts,
            store,
        } => block_on(async {
            let engine = store.engine().await?;
            validate_file(&file, experts.as_deref(), &engine).await
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Render {
            file,
            format,
            run,
            store,
        } => block_on(async {
            match run {
                Some(run_id) => {
                    store.require_shared("render --run")?;
                    let engine = store.engine().await?;
                    render_file(&file, format, Some((&run_id, &engine))).await
                }
                None => render_file(&file, format, None).await,
            }
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Run {
            file,
            experts,
            execution,
            run_id,
            params,
            settings,
            output,
            store,
        } => {
            let experts = load_experts(&experts)?;
            let graph = load_graph(&file, Some(&experts))?;
            let params = match params {
                Some(text) => from_json_str(&text)
                    .map_err(|e| CliError::BadInput(format!("--params: {e}")))?,
                None => serde_json::Map::new(),
            };
            block_on(async {
                let backend = store.connect().await?;
                let steps = execution.required_steps(Some(&experts), &backend)?;
                let engine = store.engine_on(backend, steps.executor())?;
                check_fits(&engine, &file, &graph)?;
                if let Some(deploy) = execution.deploy_file() {
                    steps.preflight(deploy, Some(&graph)).await?;
                }
                let progress = output.progress(diagnostics);
                let ran =
                    drive::run(&engine, &graph, params, run_id, settings, output, progress).await;
                steps.close().await;
                ran
            })
        }
        Command::Status {
            run_id,
            json,
            store,
        } => {
            store.require_shared("status")?;
            block_on(async {
                let engine = store.engine().await?;
                let status = engine.status(&run_id).await.map_err(failed)?;
                report::print_status(&status, json)
            })
            .map(|()| ExitCode::SUCCESS)
        }
        Command::Resume {
            run_id,
            execution,
            experts,
            wait,
            settings,
            output,
            store,
        } => {
            store.require_shared("resume")?;
            let experts = experts.as_deref().map(load_experts).transpose()?;
            block_on(async {
                let backend = store.connect().await?;
                let steps = execution.required_steps(experts.as_deref(), &backend)?;
                let engine = store.engine_on(backend, steps.executor())?;
                if let Some(deploy) = execution.deploy_file() {
                    steps.preflight(deploy, None).await?;
                }
                let progress = output.progress(diagnostics);
                let resumed =
                    drive::resume(&engine, &run_id, settings, wait, output, progress).await;
                steps.close().await;
                resumed
            })
        }
    }
}

/// A failure of the engine: a bad run id is bad input, the rest fails.
fn failed(e: WorkflowError) -> CliError {
    match e {
        WorkflowError::InvalidRunId { .. } => CliError::BadInput(e.to_string()),
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
