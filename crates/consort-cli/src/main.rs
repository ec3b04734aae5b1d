//! `consort`: route requests to experts, resolve conflicts between their
//! recommendations, and validate, render and run collaboration workflows.
//!
//! `consort serve` offers the same as MCP tools.
//!
//! Exit codes: 0 on success, 2 on bad input (the message names the file and
//! the JSON path or line), 1 on any other failure, 130 or 143 when Ctrl-C or
//! SIGTERM paused a workflow run or stopped `consort serve`.
//!
//! Diagnostics go to stderr through `tracing`: warnings by default, more with
//! `-v` (info) and `-vv` (debug), or exactly what `RUST_LOG` asks for
//! (`RUST_LOG=consort_workflow=debug`).

use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

mod cmd_experts;
mod cmd_resolve;
mod cmd_route;
mod cmd_serve;
mod cmd_workflow;
mod error;
mod execution;
mod signals;

use error::CliError;

#[derive(Debug, Parser)]
#[command(name = "consort", version, about, long_about = None)]
struct Cli {
    /// More diagnostics on stderr: -v for info, -vv for debug, -vvv for
    /// trace. `RUST_LOG` adds its own directives.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pick the expert(s) for a request and explain why.
    Route(cmd_route::Args),
    /// Resolve conflicts between expert recommendations.
    Resolve(cmd_resolve::Args),
    /// Validate, render, run and inspect collaboration workflows.
    Workflow(cmd_workflow::Args),
    /// Serve the coordinator's tools over MCP (stdio or streamable HTTP).
    Serve(cmd_serve::Args),
    /// Check the experts' MCP servers of a deployment file.
    Experts(cmd_experts::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let diagnostics = cli.verbose > 0 || std::env::var_os("RUST_LOG").is_some();
    match install_tracing(cli.verbose).and_then(|()| run(cli.command, diagnostics)) {
        Ok(code) => code,
        Err(err) => {
            // `say`, not `eprintln!`: after `serve --stdio` stderr may share
            // stdout's now non-blocking pipe (`2>&1`), where a full pipe
            // would make `eprintln!` panic.
            say(&format!("consort: {err}"));
            err.exit_code()
        }
    }
}

/// A line for the operator on stderr (stdout carries results, or the MCP
/// stream of `consort serve --stdio`).
pub(crate) fn say(line: &str) {
    let _ = std::io::Write::write_all(
        &mut std::io::stderr().lock(),
        format!("{line}\n").as_bytes(),
    );
}

/// Diagnostics to stderr, at the level `-v`s ask for, refined by `RUST_LOG`.
fn install_tracing(verbose: u8) -> Result<(), CliError> {
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let mut filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env()
        .map_err(|e| CliError::BadInput(format!("RUST_LOG: {e}")))?;
    if verbose == 0 && std::env::var_os("RUST_LOG").is_none() {
        // rmcp logs every broken expert connection as an error; consort
        // reports the failure itself, in the step's or the check's words.
        filter = filter.add_directive(
            "rmcp=off"
                .parse()
                .map_err(|e| CliError::Failed(format!("the rmcp directive: {e}")))?,
        );
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|e| CliError::Failed(format!("cannot install the diagnostics subscriber: {e}")))
}

fn run(command: Command, diagnostics: bool) -> Result<ExitCode, CliError> {
    match command {
        Command::Route(args) => cmd_route::run(args).map(|()| ExitCode::SUCCESS),
        Command::Resolve(args) => cmd_resolve::run(args).map(|()| ExitCode::SUCCESS),
        Command::Workflow(args) => cmd_workflow::run(args, diagnostics),
        Command::Serve(args) => cmd_serve::run(args),
        Command::Experts(args) => cmd_experts::run(args),
    }
}
