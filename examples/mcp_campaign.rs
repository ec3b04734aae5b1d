//! The spec's marketing campaign, run against real expert processes over
//! MCP: each of its five experts is its own process (this example started
//! again as `--expert ROLE`, serving the `consult` tool over stdio, see
//! `examples/expert/mod.rs`), called by `McpExecutor`.
//!
//! Marketing proposes a 150 000 budget; finance's budget check rejects it
//! against the 100 000 limit, the step runs again with a corrected budget,
//! and the run completes. The example prints the trace as the events arrive,
//! then each step with its attempts and the Mermaid picture of the run.
//!
//! Run with `cargo run -p consort-examples --example mcp_campaign`.

#![allow(clippy::print_stdout, reason = "an example prints what it shows")]

mod expert;

use std::error::Error;
use std::time::Duration;

use consort::mcp::experts::{Deployment, ExpertServer, McpExecutor};
use consort::prelude::*;
use consort::state::Delivery;
use consort::workflow::{RenderFormat, render_with_states};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--expert") {
        let role = args.next().ok_or("--expert needs a role")?;
        let (options, serve) = expert::parse_args(["--role".to_owned(), role])?;
        return expert::serve(options, serve).await;
    }

    let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
    let name = spec.workflow_name.clone();
    // Every participant is this program again, as an expert over stdio.
    let me = std::env::current_exe()?.display().to_string();
    let deployment = spec.participants.iter().fold(Deployment::new(), |d, role| {
        let server = ExpertServer::stdio(&me)
            .with_args(["--expert", role.as_str()])
            .with_timeout(Duration::from_secs(10));
        d.with_expert(role.as_str(), server)
    });

    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("campaign")?);
    let executor = Arc::new(McpExecutor::new(&deployment));
    for check in executor.check().await {
        println!(
            "expert {:<20} {}",
            check.expert,
            check
                .problem
                .as_deref()
                .unwrap_or("answers, with its consult tool")
        );
    }
    let coordinator = Coordinator::builder(Arc::clone(&backend))
        .with_executor(Arc::clone(&executor) as Arc<dyn StepExecutor>)
        .build()
        .await?;
    for profile in load_registry(seeds::EXPERT_REGISTRY)? {
        coordinator.register_expert(&profile).await?;
    }
    let graph = coordinator.add_workflow(spec).await?;

    println!("\n== {name}: trace");
    let mut events = backend.subscribe("workflow:*").await?;
    let trace = tokio::spawn(async move {
        while let Some(Delivery::Message { topic, payload }) = events.recv().await {
            let event: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
            let data = &event["data"];
            let step = data["step"]
                .as_str()
                .map(|s| format!(" step {s}"))
                .unwrap_or_default();
            let detail = data["detail"]
                .as_str()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            println!("  {topic}{step}{detail}");
            if topic == "workflow:completed" || topic == "workflow:failed" {
                break;
            }
        }
    });
    let mut params = serde_json::Map::new();
    params.insert("proposed_budget".into(), 150_000.into());
    params.insert("budget_limit".into(), 100_000.into());
    let status = coordinator.execute_workflow(&name, params).await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), trace).await;

    println!("\n== run {}: {:?}", status.run_id, status.state);
    for step in &status.steps {
        println!(
            "  step {} {:<28} {:<20} {:?} after {} attempt(s)",
            step.id, step.name, step.expert, step.state, step.attempts
        );
    }
    if let Some(budget) = status
        .step(2)
        .and_then(|s| s.outputs.as_ref())
        .and_then(|o| o.get("validated_budget"))
    {
        println!("  validated budget: {budget}");
    }
    println!(
        "\n{}",
        render_with_states(&graph, &status, RenderFormat::Mermaid)
    );
    executor.close().await;
    Ok(())
}
