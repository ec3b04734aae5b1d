//! The consort tour on the in-memory backend, with no set-up: load the spec's
//! eight experts and two workflows, route the spec's client requests, and
//! resolve a budget disagreement between marketing and finance.
//!
//! Run with `cargo run --example quickstart`.

#![allow(clippy::print_stdout, reason = "an example prints what it shows")]

use std::error::Error;

use consort_conflict::{BUDGET_DISAGREEMENT, ConflictKind, ResolveInput};
use consort_protocol::{ExpertProfile, from_json_str, load_registry, load_workflow, seeds};
use consort_router::{RouteRequest, Router, RouterConfig};

fn main() -> Result<(), Box<dyn Error>> {
    let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    println!(
        "== {} experts (from the spec's expert_registry)",
        experts.len()
    );
    for expert in &experts {
        println!(
            "  {:<28} {:<11} sla {:>4} ms  domains: {}",
            expert.id,
            expert.priority_level.as_str(),
            expert.response_time_sla.as_millis(),
            expert.expertise_domains.join(", ")
        );
    }

    for text in [
        seeds::MARKETING_CAMPAIGN_WORKFLOW,
        seeds::BUSINESS_EXPANSION_WORKFLOW,
    ] {
        let workflow = load_workflow(text)?;
        println!(
            "\n== workflow {} ({} steps)",
            workflow.workflow_name,
            workflow.workflow_steps.len()
        );
        for step in &workflow.workflow_steps {
            let helpers = step.collaborators(&workflow.participants);
            println!(
                "  {}. {:<38} {:<20} with [{}]",
                step.step,
                step.name,
                step.primary_expert,
                helpers.join(", ")
            );
        }
    }
    route_client_requests(&experts)?;
    resolve_budget_disagreement(&experts)?;
    Ok(())
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

/// Marketing wants 50,000 for the campaign, finance says 30,000: the resolver
/// weighs domain authority by confidence and explains the outcome.
fn resolve_budget_disagreement(experts: &[ExpertProfile]) -> Result<(), Box<dyn Error>> {
    let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT)?;
    let report = input.resolve(experts)?;
    println!("\n== resolve: the campaign budget");
    if let Some(budget) = report.conflict(ConflictKind::DirectContradiction, "campaign_budget") {
        println!("{}", budget.rationale);
    }
    println!("\n{report}");
    Ok(())
}
