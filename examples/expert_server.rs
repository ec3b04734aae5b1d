//! A deterministic, rule-based expert (no LLM): an MCP server with the
//! `consult` tool of consort's expert contract (docs/mcp.md, "Writing an
//! expert"), for any seed role. What it answers, and the flags for tests
//! and demos, are in `examples/expert/mod.rs`.
//!
//! ```sh
//! cargo run -p consort-examples --example expert_server -- --role finance_accountant --stdio
//! cargo run -p consort-examples --example expert_server -- --role legal_consultant --http 127.0.0.1:8801
//! ```

mod expert;

const USAGE: &str = "--role ID [--stdio | --http ADDR] [--journal FILE] [--delay-ms N] \
[--hang-step N] [--crash-once-step N] [--fail-calls N] [--omit OUTPUT] [--ask-human-step N]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (options, serve) = expert::parse_args(std::env::args().skip(1))
        .map_err(|e| format!("{e}\nusage: expert_server {USAGE}"))?;
    expert::serve(options, serve).await
}
