//! Each validation rejects bad input with the JSON path of the bad value.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use consort_protocol::{
    ExpertRecommendation, ExpertResponse, ProtocolError, from_json_str, load_registry,
    load_workflow, seeds,
};

fn registry_with(finance_patch: &str) -> String {
    format!(
        r#"{{"expert_registry": {{"finance_accountant": {{
            "expertise_domains": ["finance"], "mcp_endpoint": "/mcp/experts/finance",
            "priority_level": "high", "response_time_sla": "< 3 seconds"{finance_patch}}}}}}}"#
    )
}

fn message(err: &ProtocolError) -> String {
    err.to_string()
}

#[test]
fn unknown_priority_level_names_its_path() {
    let doc = registry_with("").replace("\"high\"", "\"urgent\"");
    let err = load_registry(&doc).unwrap_err();
    assert_eq!(
        err.path(),
        "expert_registry.finance_accountant.priority_level"
    );
    assert!(message(&err).contains("unknown variant `urgent`"));
}

#[test]
fn bad_sla_names_its_path() {
    let doc = registry_with("").replace("< 3 seconds", "< 3 fortnights");
    let err = load_registry(&doc).unwrap_err();
    assert_eq!(
        err.path(),
        "expert_registry.finance_accountant.response_time_sla"
    );
    assert!(message(&err).contains("fortnights"));
}

#[test]
fn negative_sla_millis_rejected() {
    let doc = registry_with("").replace("\"< 3 seconds\"", "-5");
    let err = load_registry(&doc).unwrap_err();
    assert_eq!(
        err.path(),
        "expert_registry.finance_accountant.response_time_sla"
    );
}

#[test]
fn array_profile_without_id_is_rejected() {
    let doc = r#"[{"expertise_domains": ["finance"], "mcp_endpoint": "/f",
                   "priority_level": "high", "response_time_sla": 3000}]"#;
    let err = load_registry(doc).unwrap_err();
    assert_eq!(err.path(), "[0].id");
    assert!(message(&err).contains("missing expert id"));
}

#[test]
fn duplicate_ids_are_rejected_in_both_shapes() {
    let one = r#"{"id": "a", "expertise_domains": ["x"], "mcp_endpoint": "/a",
                  "priority_level": "low", "response_time_sla": 1}"#;
    let err = load_registry(&format!("[{one}, {one}]")).unwrap_err();
    assert_eq!(err.path(), "[1].id");

    let body = r#"{"expertise_domains": ["x"], "mcp_endpoint": "/a",
                   "priority_level": "low", "response_time_sla": 1}"#;
    let doc = format!(r#"{{"expert_registry": {{"a": {body}, "a": {body}}}}}"#);
    let err = load_registry(&doc).unwrap_err();
    assert!(message(&err).contains("duplicate expert id \"a\""));
}

#[test]
fn id_that_contradicts_its_key_is_rejected() {
    let err = load_registry(&registry_with(r#", "id": "marketing""#)).unwrap_err();
    assert_eq!(err.path(), "expert_registry.finance_accountant.id");
}

#[test]
fn profile_rules_name_their_paths() {
    let cases = [
        (
            r#", "expertise_domains": []"#,
            "expert_registry.finance_accountant.expertise_domains",
        ),
        (
            r#", "data_sharing": ["ok", " "]"#,
            "expert_registry.finance_accountant.data_sharing[1]",
        ),
        (
            r#", "max_concurrent": 0"#,
            "expert_registry.finance_accountant.max_concurrent",
        ),
        (
            r#", "complexity_range": {"min": "high", "max": "low"}"#,
            "expert_registry.finance_accountant.complexity_range",
        ),
        (
            r#", "availability_status": "asleep""#,
            "expert_registry.finance_accountant.availability_status",
        ),
    ];
    for (patch, path) in cases {
        // Later keys win in serde's struct visitor only for duplicates we
        // rejected above; here each patch adds or overrides one field.
        let doc = registry_with(patch).replacen(
            r#""expertise_domains": ["finance"], "#,
            "",
            usize::from(patch.contains("expertise_domains")),
        );
        let err = load_registry(&doc).unwrap_err();
        assert_eq!(err.path(), path, "patch {patch}: {err}");
    }
}

#[test]
fn bad_expert_id_key_is_rejected() {
    let doc = registry_with("").replace("finance_accountant", "finance accountant");
    let err = load_registry(&doc).unwrap_err();
    assert_eq!(err.path(), "expert_registry.finance accountant.id");
}

#[test]
fn confidence_outside_unit_range_names_its_path() {
    for bad in ["1.5", "-0.1"] {
        let text = format!(
            r#"{{"message_id": "m", "responding_expert": "a", "original_message_id": "n",
                "response_type": "answer", "payload": {{"confidence_level": {bad}}}}}"#
        );
        let err = from_json_str::<ExpertResponse>(&text).unwrap_err();
        assert_eq!(err.path(), "payload.confidence_level");
        assert!(message(&err).contains(bad));
    }
}

#[test]
fn recommendation_rejects_negative_amounts_and_bad_confidence() {
    let rec: ExpertRecommendation = from_json_str(
        r#"{"expert": "a", "subject": "s", "position": 1, "confidence": 0.5,
            "requested_resources": {"budget": -1}}"#,
    )
    .unwrap();
    assert_eq!(
        rec.validate().unwrap_err().path(),
        "requested_resources.budget"
    );
    let err = from_json_str::<ExpertRecommendation>(
        r#"{"expert": "a", "subject": "s", "position": 1, "confidence_level": 1.01}"#,
    )
    .unwrap_err();
    assert_eq!(err.path(), "confidence_level");
}

#[test]
fn bad_timestamp_names_its_path() {
    let text = r#"{"message_id": "m", "sender_expert": "a", "recipient_expert": "b",
        "message_type": "request", "payload": {"deadline": "next tuesday"},
        "session_id": "s", "timestamp": "2026-11-23T09:00:00Z"}"#;
    let err = from_json_str::<consort_protocol::ExpertMessage>(text).unwrap_err();
    assert_eq!(err.path(), "payload.deadline");
}

#[test]
fn workflow_structure_errors_name_their_paths() {
    let base: serde_json::Value = serde_json::from_str(seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap();
    let cases: [(&str, serde_json::Value, &str); 5] = [
        ("/workflow_steps/1/step", 1.into(), "workflow_steps[1].step"),
        (
            "/workflow_steps/0/next_step",
            9.into(),
            "workflow_steps[0].next_step",
        ),
        (
            "/workflow_steps/0/next_step",
            1.into(),
            "workflow_steps[0].next_step",
        ),
        (
            "/workflow_steps/2/primary_expert",
            "ghost".into(),
            "workflow_steps[2].primary_expert",
        ),
        ("/workflow_steps", serde_json::json!([]), "workflow_steps"),
    ];
    for (pointer, value, path) in cases {
        let mut doc = base.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        let err = load_workflow(&doc.to_string()).unwrap_err();
        assert_eq!(err.path(), path, "{pointer}: {err}");
    }
}

#[test]
fn depends_on_is_checked_too() {
    let mut doc: serde_json::Value =
        serde_json::from_str(seeds::BUSINESS_EXPANSION_WORKFLOW).unwrap();
    doc["workflow_steps"][3]["depends_on"] = serde_json::json!([2, 42]);
    let err = load_workflow(&doc.to_string()).unwrap_err();
    assert_eq!(err.path(), "workflow_steps[3].depends_on[1]");
    assert!(err.to_string().contains("step 42 does not exist"));
}

#[test]
fn malformed_json_and_wrong_root_are_rejected() {
    assert!(load_registry("{").is_err());
    assert!(load_registry("42").is_err());
    assert!(load_registry(r#"{"experts": {}}"#).is_err());
    assert!(load_registry(r#"[] trailing"#).is_err());
}
