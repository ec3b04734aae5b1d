//! serialise -> parse gives back an equal value, for generated values.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use consort_protocol::{
    Availability, CollaborationPoint, Collaborator, ComplexityLevel, ComplexityRange, Confidence,
    Event, EventKind, ExpertProfile, ExpertRecommendation, Priority, PriorityLevel, TaskEvent,
    WorkflowProgress, WorkflowSpec, WorkflowStep, from_json_str, load_registry,
};
use proptest::prelude::*;

fn id() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,15}"
}

fn words() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z][a-z_ ]{0,12}[a-z]", 0..4)
}

fn complexity() -> impl Strategy<Value = Option<ComplexityRange>> {
    let level = prop_oneof![
        Just(ComplexityLevel::Low),
        Just(ComplexityLevel::Medium),
        Just(ComplexityLevel::High)
    ];
    prop::option::of((level.clone(), level))
        .prop_map(|pair| pair.map(|(a, b)| ComplexityRange::new(a.min(b), a.max(b)).unwrap()))
}

prop_compose! {
    fn profile()(
        id in id(),
        name in prop::option::of("[A-Za-z ]{1,20}"),
        description in prop::option::of("[A-Za-z ,.]{1,40}"),
        domains in prop::collection::vec("[a-z][a-z_]{1,12}", 1..5),
        capabilities in words(),
        sharing in words(),
        keywords in words(),
        examples in words(),
        priority in prop_oneof![Just(PriorityLevel::Low), Just(PriorityLevel::Medium),
                                Just(PriorityLevel::High), Just(PriorityLevel::Coordinator)],
        sla_ms in 0u64..600_000,
        complexity_range in complexity(),
        current_load in 0u32..100,
        max_concurrent in prop::option::of(1u32..100),
        availability in prop_oneof![Just(Availability::Available), Just(Availability::Busy),
                                    Just(Availability::Offline)],
    ) -> ExpertProfile {
        ExpertProfile {
            mcp_endpoint: format!("/mcp/experts/{id}"),
            id: id.into(), name, description, expertise_domains: domains,
            collaboration_capabilities: capabilities, data_sharing: sharing, keywords, examples,
            priority_level: priority, response_time_sla: Duration::from_millis(sla_ms),
            complexity_range, current_load, max_concurrent, availability_status: availability,
        }
    }
}

prop_compose! {
    fn recommendation()(
        expert in id(), subject in id(), domain in prop::option::of(id()),
        position in prop_oneof![any::<i32>().prop_map(serde_json::Value::from),
                                "[a-z ]{0,10}".prop_map(serde_json::Value::from)],
        confidence in 0.0f64..=1.0,
        priority in prop_oneof![Just(Priority::Low), Just(Priority::Medium), Just(Priority::High)],
        precedes in prop::collection::vec(id(), 0..3),
        resources in prop::collection::btree_map(id(), 0u32..1_000_000, 0..3),
        rationale in "[a-z ]{0,20}",
    ) -> ExpertRecommendation {
        ExpertRecommendation {
            expert: expert.into(), subject, domain, position,
            confidence_level: Confidence::new(confidence).unwrap(), priority, precedes,
            requested_resources: resources.into_iter().map(|(k, v)| (k, f64::from(v))).collect::<BTreeMap<_, _>>(),
            rationale,
        }
    }
}

prop_compose! {
    fn workflow()(
        name in id(),
        participants in prop::collection::vec(id(), 1..5),
        n in 1usize..8,
        chained in any::<bool>(),
    ) -> WorkflowSpec {
        let steps = (1..=n).map(|i| {
            let step = u32::try_from(i).unwrap();
            WorkflowStep {
                step,
                name: format!("Step {i}"),
                primary_expert: participants[i % participants.len()].clone().into(),
                collaborating_experts: if i % 2 == 0 { vec![Collaborator::All] } else {
                    vec![Collaborator::Expert(participants[0].clone().into())]
                },
                actions: vec![format!("do {i}")],
                collaboration_points: vec![CollaborationPoint {
                    with_expert: participants[0].clone().into(),
                    data_shared: vec!["x".into()],
                    validation_needed: Some("check".into()),
                }],
                outputs: vec![format!("out_{i}")],
                next_step: (chained && i < n).then(|| step + 1),
                depends_on: if !chained && i > 1 { vec![step - 1] } else { vec![] },
                timeout_ms: Some(1_000),
                retry: None,
                on_validation_failure: None,
            }
        }).collect();
        WorkflowSpec {
            workflow_name: name, description: String::new(), participants: participants.into_iter().map(Into::into).collect(),
            workflow_steps: steps, success_metrics: BTreeMap::new(),
        }
    }
}

proptest! {
    #[test]
    fn profiles_round_trip_through_the_array_registry_shape(
        profiles in prop::collection::btree_map(id(), profile(), 1..6)
    ) {
        let profiles: Vec<ExpertProfile> = profiles
            .into_iter()
            .map(|(id, mut p)| { p.id = id.into(); p })
            .collect();
        let text = serde_json::to_string(&profiles).unwrap();
        prop_assert_eq!(load_registry(&text).unwrap(), profiles);
    }

    #[test]
    fn recommendations_round_trip(rec in recommendation()) {
        let text = serde_json::to_string(&rec).unwrap();
        prop_assert_eq!(from_json_str::<ExpertRecommendation>(&text).unwrap(), rec);
    }

    #[test]
    fn workflows_round_trip_and_stay_valid(wf in workflow()) {
        let text = serde_json::to_string(&wf).unwrap();
        let back = consort_protocol::load_workflow(&text).unwrap();
        prop_assert_eq!(back, wf);
    }

    #[test]
    fn events_round_trip(task in id(), agent in id(), percent in 0.0f64..=100.0) {
        for kind in [
            EventKind::TaskCompleted(TaskEvent { task_id: task.clone(), agent_id: agent.clone() }),
            EventKind::StepCompleted(WorkflowProgress {
                run_id: task, workflow: agent, step: Some("2".into()),
                attempt: Some(1), percent_complete: percent, detail: None,
            }),
        ] {
            let event = Event::now("test", kind);
            let text = serde_json::to_string(&event).unwrap();
            prop_assert_eq!(from_json_str::<Event>(&text).unwrap(), event);
        }
    }
}

#[test]
fn event_type_strings_are_the_proposals() {
    let json: serde_json::Value = serde_json::from_str(
        r#"{"type": "file:locked", "source": "agent-coordination",
            "data": {"file": "backend/src/api.rs", "agentId": "agent-1"},
            "timestamp": "2025-01-15T10:00:00Z"}"#,
    )
    .unwrap();
    let event: Event = consort_protocol::from_json_value(json.clone()).unwrap();
    assert_eq!(event.event_type(), "file:locked");
    assert_eq!(serde_json::to_value(&event).unwrap(), json);
    for ty in [
        "file:unlocked",
        "task:claimed",
        "task:completed",
        "task:released",
    ] {
        let field = if ty.starts_with("file") {
            r#""file": "f""#
        } else {
            r#""taskId": "t""#
        };
        let text = format!(
            r#"{{"type": "{ty}", "source": "s", "data": {{{field}, "agentId": "a"}},
                "timestamp": "2025-01-15T10:00:00Z"}}"#
        );
        assert_eq!(from_json_str::<Event>(&text).unwrap().event_type(), ty);
    }
    for (ty, data) in [
        (
            "health:degraded",
            r#"{"service": "redis", "status": "slow"}"#,
        ),
        (
            "health:recovered",
            r#"{"service": "redis", "status": "ok"}"#,
        ),
        (
            "cache:invalidate",
            r#"{"pattern": "tools:*", "reason": "deploy"}"#,
        ),
        (
            "expert:registered",
            r#"{"expert_id": "finance_accountant"}"#,
        ),
        ("expert:expired", r#"{"expert_id": "finance_accountant"}"#),
        (
            "expert:circuit_opened",
            r#"{"expert_id": "finance_accountant", "consecutive_failures": 5, "detail": "timed out"}"#,
        ),
        (
            "expert:circuit_closed",
            r#"{"expert_id": "finance_accountant", "consecutive_failures": 0}"#,
        ),
        (
            "workflow:step_progress",
            r#"{"run_id": "r", "workflow": "w", "step": "2", "percent_complete": 40.0, "detail": "1/3"}"#,
        ),
    ] {
        let text = format!(
            r#"{{"type": "{ty}", "source": "s", "data": {data}, "timestamp": "2025-01-15T10:00:00Z"}}"#
        );
        assert_eq!(from_json_str::<Event>(&text).unwrap().event_type(), ty);
    }
}
