//! The spec's JSON loads as written, and the fixtures are the spec's JSON.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::time::Duration;

use consort_protocol::{
    Availability, Collaborator, PriorityLevel, ValidationFailurePolicy, load_registry,
    load_workflow, seeds,
};
use serde_json::Value;

#[test]
fn seed_registry_loads_all_eight_experts_in_document_order() {
    let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let ids: Vec<&str> = experts.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "finance_accountant",
            "personal_assistant",
            "marketing_sales",
            "art_design",
            "project_management",
            "legal_consultant",
            "hr_people_ops",
            "digital_business_think_tank",
        ]
    );
    let finance = &experts[0];
    assert_eq!(finance.priority_level, PriorityLevel::High);
    assert_eq!(finance.response_time_sla, Duration::from_secs(3));
    assert_eq!(finance.mcp_endpoint, "/mcp/experts/finance");
    assert_eq!(
        finance.collaboration_capabilities,
        ["budget_analysis", "financial_impact", "cost_optimization"]
    );
    assert_eq!(finance.current_load, 0);
    assert_eq!(finance.availability_status, Availability::Available);
    assert_eq!(experts[1].priority_level, PriorityLevel::Coordinator);
    assert_eq!(experts[1].response_time_sla, Duration::from_secs(2));
    assert_eq!(experts[3].response_time_sla, Duration::from_secs(5));
    assert_eq!(experts[7].expertise_domains.len(), 7);
}

#[test]
fn marketing_workflow_loads_with_next_step_chain_and_collaboration_points() {
    let wf = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap();
    assert_eq!(wf.workflow_name, "comprehensive_marketing_campaign");
    assert_eq!(wf.participants.len(), 5);
    let chain: Vec<_> = wf.workflow_steps.iter().map(|s| s.next_step).collect();
    assert_eq!(chain, [Some(2), Some(3), Some(4), Some(5), None]);
    let strategy = wf.step(2).unwrap();
    assert_eq!(strategy.collaboration_points.len(), 1);
    assert_eq!(
        strategy.collaboration_points[0].with_expert,
        "finance_accountant"
    );
    assert_eq!(
        strategy.collaboration_points[0]
            .validation_needed
            .as_deref(),
        Some("budget_feasibility")
    );
    let last = wf.step(5).unwrap();
    assert_eq!(last.collaborating_experts, [Collaborator::All]);
    assert_eq!(
        last.collaborators(&wf.participants),
        [
            "marketing_sales",
            "finance_accountant",
            "art_design",
            "project_management"
        ]
    );
    assert_eq!(wf.success_metrics["workflow_completion_time"], "< 4 hours");
    assert_eq!(
        strategy.on_validation_failure,
        None::<ValidationFailurePolicy>
    );
}

#[test]
fn expansion_workflow_loads_with_numbered_steps_only() {
    let wf = load_workflow(seeds::BUSINESS_EXPANSION_WORKFLOW).unwrap();
    assert_eq!(wf.workflow_steps.len(), 6);
    assert!(wf.workflow_steps.iter().all(|s| s.next_step.is_none()));
    assert!(wf.success_metrics.is_empty());
    assert_eq!(
        wf.step(3).unwrap().collaboration_points[0].with_expert,
        "hr_people_ops"
    );
    assert_eq!(wf.step(6).unwrap().collaborators(&wf.participants).len(), 4);
}

/// Every field of the spec's message and response formats exists, with the
/// same name and nesting, in our serialised types.
#[test]
fn message_types_cover_the_communication_protocol_fields() {
    let spec: Value =
        serde_json::from_str(include_str!("fixtures/communication_protocol.json")).unwrap();
    let protocol = &spec["communication_protocol"];
    let message = serde_json::to_value(sample_message()).unwrap();
    assert_same_keys(&protocol["message_format"], &message, "message_format");
    let response = serde_json::to_value(sample_response()).unwrap();
    assert_same_keys(&protocol["response_format"], &response, "response_format");
}

fn assert_same_keys(spec: &Value, ours: &Value, path: &str) {
    let Value::Object(spec_fields) = spec else {
        return;
    };
    for (key, spec_value) in spec_fields {
        let ours_value = ours
            .get(key)
            .unwrap_or_else(|| panic!("{path}.{key} is missing from our serialisation: {ours}"));
        assert_same_keys(spec_value, ours_value, &format!("{path}.{key}"));
    }
}

fn sample_message() -> consort_protocol::ExpertMessage {
    consort_protocol::from_json_str(
        r#"{"message_id": "m-1", "sender_expert": "marketing_sales",
            "recipient_expert": "finance_accountant", "message_type": "request",
            "payload": {"data": {"budget": 50000}, "context": {"campaign": "spring"},
                        "priority": "high", "requires_response": true,
                        "deadline": "2026-11-30T12:00:00Z"},
            "session_id": "s-1", "timestamp": "2026-11-23T09:00:00Z"}"#,
    )
    .unwrap()
}

fn sample_response() -> consort_protocol::ExpertResponse {
    consort_protocol::from_json_str(
        r#"{"message_id": "m-2", "responding_expert": "finance_accountant",
            "original_message_id": "m-1", "response_type": "answer",
            "payload": {"data": {"approved": 30000}, "confidence_level": 0.8,
                        "additional_experts_needed": ["legal_consultant"],
                        "follow_up_required": false}}"#,
    )
    .unwrap()
}

/// The fixtures are byte-for-byte the JSON blocks of the spec. Where the spec
/// is not beside the checkout (a packaged crate), there is nothing to compare.
#[test]
fn fixtures_match_the_spec_text() {
    let spec_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seeds/mcp-coordination-spec.txt"
    );
    let Ok(spec) = std::fs::read_to_string(spec_path) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have shared/ beside the checkout: {spec_path} is missing"
        );
        eprintln!("SKIP fixtures_match_the_spec_text: {spec_path} not found");
        return;
    };
    for fixture in [
        seeds::MCP_SERVER,
        seeds::EXPERT_REGISTRY,
        seeds::MARKETING_CAMPAIGN_WORKFLOW,
        seeds::BUSINESS_EXPANSION_WORKFLOW,
        include_str!("fixtures/communication_protocol.json"),
    ] {
        assert!(
            spec.contains(fixture.trim_end()),
            "fixture is not verbatim in the spec: {}",
            &fixture[..60]
        );
    }
}
