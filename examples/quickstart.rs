//! The consort tour on the in-memory backend, with no set-up, through one
//! `Coordinator`:
//!
//! 1. register the spec's eight experts and list who is available;
//! 2. route the spec's client requests, with each decision's breakdown;
//!    then take the lawyer offline and see routing follow the registry;
//! 3. settle the budget disagreement between marketing and finance, and rank
//!    their recommendations;
//! 4. run the spec's marketing campaign workflow end to end; at the finance
//!    collaboration point the conflict resolver settles the budget;
//! 5. print the trace, the final status and the Mermaid graph of the run.
//!
//! Run with `cargo run --example quickstart`.

#![allow(clippy::print_stdout, reason = "an example prints what it shows")]

use std::error::Error;

use async_trait::async_trait;
use consort::conflict::{
    BUDGET_DISAGREEMENT, ConflictKind, ConflictResolver, Policy, ResolveInput,
};
use consort::prelude::*;
use consort::workflow::{RenderFormat, SimulatedExecutor, render_with_states};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // One line picks the backend; `RedisBackend::connect(RedisConfig::new(url, "demo"))`
    // shares the same experts and runs across processes.
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("demo")?);
    let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    let coordinator = Coordinator::builder(backend)
        .with_executor(Arc::new(CampaignExperts::new(&experts)?))
        .build()
        .await?;

    register_experts(&coordinator, &experts).await?;
    route_client_requests(&coordinator).await?;
    settle_the_budget(&coordinator).await?;
    run_marketing_campaign(&coordinator).await?;
    Ok(())
}

async fn register_experts(
    coordinator: &Coordinator,
    experts: &[ExpertProfile],
) -> Result<(), Box<dyn Error>> {
    for expert in experts {
        coordinator.register_expert(expert).await?;
    }
    let available = coordinator.available_experts().await?;
    println!("== registry: {} experts available", available.len());
    for expert in &available {
        println!(
            "  {:<28} {:<11} sla {:>4} ms  load {}  domains: {}",
            expert.id,
            expert.priority_level.as_str(),
            expert.response_time_sla.as_millis(),
            expert.current_load,
            expert.expertise_domains.join(", ")
        );
    }
    Ok(())
}

/// The spec's use-case scenarios start from a client request; the
/// coordinator picks who takes it, with the registry's live state, and
/// explains why.
async fn route_client_requests(coordinator: &Coordinator) -> Result<(), Box<dyn Error>> {
    let use_cases: Vec<serde_json::Value> = serde_json::from_str(seeds::USE_CASES)?;
    let requests = use_cases
        .iter()
        .filter_map(|case| case["client_request"].as_str())
        .chain(["Plan a campaign and check the budget with finance"]);
    for request in requests {
        println!("\n== route: {request:?}");
        println!("{}", coordinator.route(&RouteRequest::new(request)).await?);
    }

    let contract = RouteRequest::new("Review the NDA before we sign");
    println!("\n== route: {:?}", contract.text);
    println!("{}", coordinator.route(&contract).await?);
    coordinator
        .set_availability("legal_consultant", Availability::Offline)
        .await?;
    println!("\n== the lawyer goes offline; the same request:");
    println!("{}", coordinator.route(&contract).await?);
    coordinator
        .set_availability("legal_consultant", Availability::Available)
        .await?;
    Ok(())
}

/// Marketing wants 50,000 for the campaign, finance says 30,000.
async fn settle_the_budget(coordinator: &Coordinator) -> Result<(), Box<dyn Error>> {
    let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT)?;
    let report = coordinator
        .resolve_conflicts(&input.recommendations, &input.capacities)
        .await?;
    println!("\n== conflicts: {} found", report.conflicts.len());
    println!("{report}");
    println!("\n== recommendations, by priority x authority x confidence:");
    for ranked in coordinator
        .prioritize_recommendations(&input.recommendations)
        .await?
    {
        let rec = &ranked.recommendation;
        println!(
            "  {}. {:<18} {:<22} {:<44} weight {:.3}",
            ranked.rank,
            rec.expert,
            rec.subject,
            rec.position.to_string(),
            ranked.weight
        );
    }
    Ok(())
}

async fn run_marketing_campaign(coordinator: &Coordinator) -> Result<(), Box<dyn Error>> {
    let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
    let name = spec.workflow_name.clone();
    let graph = coordinator.add_workflow(spec).await?;

    println!("\n== workflow {name}: trace");
    let status = coordinator
        .execute_workflow(&name, serde_json::Map::new())
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
    resolver: ConflictResolver,
    simulated: SimulatedExecutor,
}

impl CampaignExperts {
    fn new(experts: &[ExpertProfile]) -> Result<Self, Box<dyn Error>> {
        Ok(Self {
            resolver: ConflictResolver::new(experts, Policy::default())?,
            simulated: SimulatedExecutor::new(),
        })
    }

    fn settle_budget(&self) -> StepOutcome {
        let report = from_json_str::<ResolveInput>(BUDGET_DISAGREEMENT)
            .map_err(|e| e.to_string())
            .and_then(|input| {
                self.resolver
                    .resolve(&input.recommendations, &input.capacities)
                    .map_err(|e| e.to_string())
            });
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
