//! `consort serve`: the coordinator's tools as an MCP server, over stdio or
//! streamable HTTP.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use consort_coordinator::Coordinator;
use consort_mcp::{ConsortServer, HttpConfig, RateLimit, ToolsConfig};
use consort_registry::{ExpertRegistry, RegistryConfig};
use consort_workflow::{SimulatedExecutor, StepExecutor};
use tokio::sync::oneshot;

use crate::cmd_workflow::definition::{load_spec, problems_error};
use crate::cmd_workflow::duration::parse_duration;
use crate::cmd_workflow::store::Store;
use crate::error::{CliError, load_experts};
use crate::execution::{Execution, Steps};
use crate::say;
use crate::signals::{Interrupt, Signals};

/// Why `workflow_start` is refused without `--deploy` or `--simulate`.
const NO_EXECUTOR: &str = "this server cannot run workflow steps: it was started without \
--deploy DEPLOY.json (which says where each expert's MCP server is) or --simulate (placeholder \
outputs)";

/// Arguments of `consort serve`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("transport").required(true).args(["stdio", "http"])))]
pub(crate) struct Args {
    /// Serve one client over stdin and stdout (for an MCP client that
    /// starts this process).
    #[arg(long)]
    stdio: bool,
    /// Serve streamable HTTP at this address (`127.0.0.1:8800`), endpoint
    /// `/mcp`. Requests must carry `Authorization: Bearer $CONSORT_MCP_TOKEN`
    /// when that variable is set.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Register the experts of this registry file at start (replacing
    /// profiles of the same ids).
    #[arg(long, value_name = "REGISTRY.json")]
    experts: Option<PathBuf>,
    /// Serve every `*.json` workflow definition in this directory by name.
    #[arg(long, value_name = "DIR")]
    workflows: Option<PathBuf>,
    #[command(flatten)]
    execution: Execution,
    /// Prefix of every tool name.
    #[arg(long, value_name = "PREFIX", default_value = consort_mcp::DEFAULT_PREFIX)]
    tool_prefix: String,
    /// Offer only the tools that change nothing.
    #[arg(long)]
    read_only: bool,
    /// Allow each client at most N calls per second of each tool (in bursts
    /// of up to N); an excess is a tool error that says when to retry.
    #[arg(long, value_name = "N")]
    rate_limit: Option<NonZeroU32>,
    /// How long runs in flight get to settle on SIGTERM or Ctrl-C before
    /// their steps are abandoned (they run again on resume).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    shutdown_grace: Duration,
    /// Keep the records of finished runs (completed, failed, cancelled)
    /// this long, then let the backend drop them (`24h`, `30m`). Without
    /// it they are kept until deleted, and a server that lives long grows
    /// with every run it starts.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    keep_finished: Option<Duration>,
    #[command(flatten)]
    store: Store,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    // Over stdio one client sends one request at a time or a few: one
    // thread serves it without handing requests between threads, each
    // hand-off a wake-up of a parked thread. HTTP serves many clients.
    let mut builder = if args.http.is_some() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> Result<ExitCode, CliError> {
    let experts = args.experts.as_deref().map(load_experts).transpose()?;
    let backend = args.store.connect().await?;
    // The deployment's calls count on the registry's load, which routing
    // reads: the coordinator's own registry, over the same backend.
    let load = ExpertRegistry::new(Arc::clone(&backend), RegistryConfig::default());
    let steps = args
        .execution
        .steps(experts.as_deref(), &backend, Some(&load))?;
    // Without an executor runs are refused below; the coordinator still
    // needs one to exist.
    let runs_refused = steps.is_none();
    let executor: Arc<dyn StepExecutor> = steps
        .as_ref()
        .map_or_else(|| Arc::new(SimulatedExecutor::new()) as _, Steps::executor);
    // Registered before the coordinator starts, so that it builds its
    // routing view once with every expert in it, rather than once empty
    // and again for the registrations (a router index build is most of a
    // cold start).
    for expert in experts.iter().flatten() {
        load.register(expert)
            .await
            .map_err(|e| CliError::Failed(format!("registering {}: {e}", expert.id)))?;
    }
    let coordinator = Coordinator::builder(backend)
        .with_engine_config(match args.keep_finished {
            Some(kept) => args.store.engine_config().with_retention(kept),
            None => args.store.engine_config(),
        })
        .with_executor(executor)
        .build()
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    if let Some(dir) = &args.workflows {
        add_workflows(&coordinator, dir).await?;
    }
    if let (Some(steps), Some(deploy)) = (&steps, args.execution.deploy_file()) {
        steps.preflight(deploy, None).await?;
    }
    let mut config = ToolsConfig::default().with_prefix(args.tool_prefix);
    if args.read_only {
        config = config.read_only();
    }
    if let Some(calls) = args.rate_limit {
        config = config.with_rate_limit(RateLimit::per_second(calls));
    }
    if runs_refused {
        config = config.with_runs_refused(NO_EXECUTOR);
    }
    let server = ConsortServer::new(coordinator.clone(), config)
        .map_err(|e| CliError::BadInput(format!("--tool-prefix: {e}")))?;

    let mut signals = Signals::new()
        .map_err(|e| CliError::Failed(format!("cannot listen for SIGTERM and Ctrl-C: {e}")))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        match args.http {
            Some(addr) => serve_http(server, addr, stopped).await,
            None => {
                tokio::select! {
                    served = server.serve_stdio() => served.map_err(|e| CliError::Failed(e.to_string())),
                    _ = stopped => Ok(()),
                }
            }
        }
    });
    tokio::pin!(serving);
    let interrupt = tokio::select! {
        served = &mut serving => {
            served.map_err(|e| CliError::Failed(format!("the server task failed: {e}")))??;
            None
        }
        signal = signals.next() => Some(signal),
    };
    let _ = stop.send(());
    pause_runs(&coordinator, args.shutdown_grace).await;
    if let Some(steps) = &steps {
        steps.close().await;
    }
    Ok(interrupt.map_or(ExitCode::SUCCESS, |signal: Interrupt| {
        ExitCode::from(signal.exit_code())
    }))
}

/// Serves HTTP on `addr` until `stopped` fires.
async fn serve_http(
    server: ConsortServer,
    addr: SocketAddr,
    stopped: oneshot::Receiver<()>,
) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Failed(format!("--http {addr}: {e}")))?;
    let mut config = HttpConfig::default();
    if let Some(token) = std::env::var("CONSORT_MCP_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    {
        config = config.with_bearer_token(token);
    }
    let bound = listener.local_addr().unwrap_or(addr);
    say(&format!("serving MCP at http://{bound}{}", config.path()));
    consort_mcp::serve_http(server, listener, config, async move {
        let _ = stopped.await;
    })
    .await
    .map_err(|e| CliError::Failed(e.to_string()))
}

/// Pauses the runs this server drives and waits (up to `grace` and a
/// little) for them to checkpoint and release their leases, so that another
/// server, or `consort workflow resume`, continues them at once.
async fn pause_runs(coordinator: &Coordinator, grace: Duration) {
    let engine = coordinator.engine();
    let paused = engine.pause_all(grace);
    if paused == 0 {
        return;
    }
    say(&format!(
        "pausing {paused} run(s) in flight; consort workflow resume (or any server's tasks/get) continues them"
    ));
    let deadline = Instant::now() + grace + Duration::from_secs(2);
    while engine.driving() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Validates every `*.json` definition in `dir` against the registry and
/// serves it by name.
async fn add_workflows(coordinator: &Coordinator, dir: &Path) -> Result<(), CliError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::BadInput(format!("--workflows {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    for file in files {
        let spec = load_spec(&file)?;
        let problems = coordinator
            .validate_workflow(&spec)
            .await
            .map_err(|e| CliError::Failed(e.to_string()))?;
        if !problems.is_empty() {
            return Err(problems_error(&file, &problems));
        }
        coordinator
            .add_workflow(spec)
            .await
            .map_err(|e| CliError::BadInput(format!("{}: {e}", file.display())))?;
    }
    Ok(())
}
