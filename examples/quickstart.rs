//! The consort tour on the in-memory backend, with no set-up:
//!
//! 1. register the spec's eight experts in a registry and take a snapshot;
//! 2. route the spec's client requests, with each decision's breakdown;
//! 3. run the spec's marketing campaign workflow end to end through a
//!    simulated executor; at the finance collaboration point, marketing and
//!    finance disagree on the budget and the conflict resolver settles it;
//! 4. print the trace, the final status and the Mermaid graph of the run.
//!
//! Run with `cargo run --example quickstart`.

#![allow(clippy::print_stdout, reason = "an example prints what it shows")]

use std::error::Error;
use std::sync::Arc;

use async_trait::async_trait;
use consort_conflict::{BUDGET_DISAGREEMENT, ConflictKind, ResolveInput};
use consort_protocol::{ExpertProfile, from_json_str, load_registry, load_workflow, seeds};
use consort_registry::{ExpertRegistry, RegistryConfig};
use consort_router::{RouteRequest, Router, RouterConfig};
use consort_state::{MemoryBackend, StateBackend};
use consort_workflow::{
    Engine, EngineConfig, RenderFormat, SimulatedExecutor, StepContext, StepExecutor, StepKind,
    StepOutcome, WorkflowGraph, render_with_states,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // One line picks the backend; `RedisBackend::connect(RedisConfig::new(url, "demo"))`
    // shares the same registry and runs across processes.
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("demo")?);

    let experts = register_experts(&backend).await?;
    route_client_requests(&experts)?;
    run_marketing_campaign(&backend, &experts).await?;
    Ok(())
}

async fn register_experts(
    backend: &Arc<dyn StateBackend>,
) -> Result<Vec<ExpertProfile>, Box<dyn Error>> {
    let registry = ExpertRegistry::new(Arc::clone(backend), RegistryConfig::default());
    for expert in load_registry(seeds::EXPERT_REGISTRY)? {
        registry.register(&expert).await?;
    }
    let experts = registry.snapshot().await?;
    println!("== registry: {} experts online", experts.len());
    for expert in &experts {
        println!(
            "  {:<28} {:<11} sla {:>4} ms  load {}  domains: {}",
            expert.id,
            expert.priority_level.as_str(),
            expert.response_time_sla.as_millis(),
            expert.current_load,
            expert.expertise_domains.join(", ")
        );
    }
    Ok(experts)
}

/// The spec's use-case scenarios start from a client request; the router picks
/// who takes it and explains why.
fn route_client_requests(experts: &[ExpertProfile]) -> Result<(), Box<dyn Error>> {
    let router = Router::new(experts, RouterConfig::default())?;
    let use_cases: Vec<serde_json::Value> = serde_json::from_str(seeds::USE_CASES)?;
    let requests = use_cases
        .iter()
        .filter_map(|case| case["client_request"].as_str())
        .chain(["Plan a campaign and check the budget with finance"]);
    for request in requests {
        println!("\n== route: {request:?}");
        println!("{}", router.route(&RouteRequest::new(request)));
    }
    Ok(())
}

async fn run_marketing_campaign(
    backend: &Arc<dyn StateBackend>,
    experts: &[ExpertProfile],
) -> Result<(), Box<dyn Error>> {
    let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
    let graph = WorkflowGraph::build(&spec, Some(experts))?;
    let executor = CampaignExperts {
        experts: experts.to_vec(),
        simulated: SimulatedExecutor::new(),
    };
    let engine = Engine::new(
        Arc::clone(backend),
        Arc::new(executor),
        EngineConfig::default(),
    )?;

    println!("\n== workflow {}: trace", spec.workflow_name);
    let status = engine
        .new_run(&graph)
        .with_run_id("campaign-1")
        .run_to_end()
        .await?;

    println!("\n== workflow {}: {:?}", status.run_id, status.state);
    for step in &status.steps {
        let outputs = step
            .outputs
            .as_ref()
            .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        println!(
            "  step {} {:<28} {:<20} {:?} after {} attempt(s): {outputs}",
            step.id, step.name, step.expert, step.state, step.attempts
        );
    }
    println!(
        "\n{}",
        render_with_states(&graph, &status, RenderFormat::Mermaid)
    );
    Ok(())
}

/// Simulated experts: every step returns its declared outputs, except that
/// finance's budget check runs the conflict resolver on marketing's and
/// finance's budget recommendations and passes with the resolved figure.
struct CampaignExperts {
    experts: Vec<ExpertProfile>,
    simulated: SimulatedExecutor,
}

#[async_trait]
impl StepExecutor for CampaignExperts {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        let what = match ctx.kind() {
            StepKind::Validate { point, .. } => format!(
                "validates {}",
                point.validation_needed.as_deref().unwrap_or("the outputs")
            ),
            _ => "runs".to_owned(),
        };
        println!(
            "  step {} {:<28} {} {what} (attempt {}, key {})",
            ctx.step().number,
            ctx.step().name,
            ctx.expert(),
            ctx.attempt(),
            ctx.idempotency_key()
        );
        if let StepKind::Validate { point, .. } = ctx.kind()
            && point.validation_needed.as_deref() == Some("budget_feasibility")
        {
            return self.settle_budget();
        }
        self.simulated.execute(ctx).await
    }
}

impl CampaignExperts {
    fn settle_budget(&self) -> StepOutcome {
        let report = from_json_str::<ResolveInput>(BUDGET_DISAGREEMENT)
            .map_err(|e| e.to_string())
            .and_then(|input| input.resolve(&self.experts).map_err(|e| e.to_string()));
        match report {
            Ok(report) => {
                match report.conflict(ConflictKind::DirectContradiction, "campaign_budget") {
                    Some(budget) if !budget.escalated => {
                        println!("      budget settled: {}", budget.rationale);
                        StepOutcome::Completed(serde_json::Map::new())
                    }
                    Some(budget) => StepOutcome::NeedsHuman {
                        question: budget.rationale.clone(),
                    },
                    None => StepOutcome::Completed(serde_json::Map::new()),
                }
            }
            Err(error) => StepOutcome::fail(error),
        }
    }
}
