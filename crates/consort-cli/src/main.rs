//! `consort`: route requests to experts, resolve conflicts between their
//! recommendations, and validate, render and run collaboration workflows.
//!
//! Exit codes: 0 on success, 2 on bad input (the message names the file and
//! the JSON path or line), 1 on any other failure.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd_resolve;
mod cmd_route;
mod cmd_workflow;
mod error;

use error::CliError;

#[derive(Debug, Parser)]
#[command(name = "consort", version, about, long_about = None)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr, reason = "the command reports its own failure")]
            {
                eprintln!("consort: {err}");
            }
            err.exit_code()
        }
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Route(args) => cmd_route::run(args),
        Command::Resolve(args) => cmd_resolve::run(args),
        Command::Workflow(args) => cmd_workflow::run(args),
    }
}
