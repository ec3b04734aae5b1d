//! `consort experts`: check the experts' MCP servers of a deployment.

use std::path::PathBuf;
use std::process::ExitCode;

use consort_mcp::experts::McpExecutor;

use crate::error::{CliError, load_experts};
use crate::execution::{load_deployment, report_checks};

/// Arguments of `consort experts`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Connect to every expert of a deployment file and list its tools:
    /// reports each expert that is unreachable or lacks its consult tool
    /// (exit 2 if any).
    Check {
        /// The deployment file (docs/mcp.md, "Deployment file").
        #[arg(long, value_name = "DEPLOY.json")]
        deploy: PathBuf,
        /// Expert registry: checks the deployment's expert ids and gives the
        /// endpoints of http experts without a `url`.
        #[arg(long, value_name = "REGISTRY")]
        experts: Option<PathBuf>,
    },
}

pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    match args.command {
        Command::Check { deploy, experts } => {
            let experts = experts.as_deref().map(load_experts).transpose()?;
            let deployment = load_deployment(&deploy, experts.as_deref())?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
            runtime.block_on(async {
                let executor = McpExecutor::new(&deployment);
                let checks = executor.check().await;
                executor.close().await;
                report_checks(&deploy, &checks)
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
