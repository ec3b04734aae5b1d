//! `consort route` end to end, through the built binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

fn consort(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consort"))
        .arg("route")
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn seed_registry(dir: &TempDir) -> String {
    write(
        dir.path(),
        "experts.json",
        consort_protocol::seeds::EXPERT_REGISTRY,
    )
    .to_str()
    .unwrap()
    .to_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn the_acceptance_request_names_marketing_and_finance() {
    let dir = TempDir::new().unwrap();
    let experts = seed_registry(&dir);
    let request = "Plan a campaign and check the budget with finance";

    let table = consort(&["--experts", &experts, request]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    assert!(
        text.contains("marketing_sales") && text.contains("finance_accountant"),
        "{text}"
    );
    assert!(text.contains("collaboration required"), "{text}");

    let json = consort(&["--experts", &experts, "--json", request]);
    assert!(json.status.success(), "{}", stderr(&json));
    let decision: serde_json::Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(decision["id"], serde_json::Value::Null);
    assert_eq!(decision["outcome"], "routed");
    assert_eq!(decision["requires_collaboration"], true);
    let mut involved = vec![decision["primary"].as_str().unwrap().to_owned()];
    involved.extend(
        decision["collaborators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned()),
    );
    assert!(
        involved.contains(&"marketing_sales".to_owned()),
        "{involved:?}"
    );
    assert!(
        involved.contains(&"finance_accountant".to_owned()),
        "{involved:?}"
    );
    let top = &decision["candidates"][0];
    for field in [
        "domain",
        "capability",
        "complexity",
        "context",
        "availability",
    ] {
        assert!(top["breakdown"][field].is_number(), "{field}: {top}");
    }
    assert!(top["matched_terms"].is_array());
}

#[test]
fn context_file_keeps_a_follow_up_with_the_previous_expert() {
    let dir = TempDir::new().unwrap();
    let experts = seed_registry(&dir);
    let context = write(
        dir.path(),
        "context.json",
        r#"{"previous_expert": "legal_consultant"}"#,
    );
    let out = consort(&[
        "--experts",
        &experts,
        "--context",
        context.to_str().unwrap(),
        "--json",
        "yes, go ahead",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let decision: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(decision["primary"], "legal_consultant");
}

#[test]
fn batch_output_keeps_the_input_order_and_skips_blank_lines() {
    let dir = TempDir::new().unwrap();
    let experts = seed_registry(&dir);
    let batch = write(
        dir.path(),
        "batch.jsonl",
        concat!(
            r#"{"id": "c", "request": "review this contract for intellectual property issues"}"#,
            "\n",
            "\n",
            r#"{"id": "a", "request": "I need help with tax accounting"}"#,
            "\n",
            r#"{"id": "b", "request": "yes", "context": {"previous_expert": "art_design"}}"#,
            "\n",
        ),
    );
    let out = consort(&[
        "--experts",
        &experts,
        "--batch",
        batch.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["c", "a", "b"]);
    let primaries: Vec<&str> = lines
        .iter()
        .map(|d| d["primary"].as_str().unwrap())
        .collect();
    assert_eq!(
        primaries,
        ["legal_consultant", "finance_accountant", "art_design"]
    );
}

#[test]
fn a_bad_registry_is_exit_2_naming_the_file_and_path() {
    let dir = TempDir::new().unwrap();
    let experts = write(
        dir.path(),
        "experts.json",
        r#"{"expert_registry": {"finance": {"expertise_domains": ["tax"],
            "mcp_endpoint": "/f", "priority_level": "urgent", "response_time_sla": 3000}}}"#,
    );
    let out = consort(&["--experts", experts.to_str().unwrap(), "tax"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("experts.json"), "{err}");
    assert!(
        err.contains("expert_registry.finance.priority_level"),
        "{err}"
    );
}

#[test]
fn a_bad_batch_line_is_exit_2_with_its_line_number() {
    let dir = TempDir::new().unwrap();
    let experts = seed_registry(&dir);
    let batch = write(
        dir.path(),
        "batch.jsonl",
        "{\"id\": \"a\", \"request\": \"tax\"}\n\n{\"id\": \"b\", \"request\": 7}\n",
    );
    let out = consort(&["--experts", &experts, "--batch", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("batch.jsonl:3:"), "{err}");
    assert!(err.contains("request"), "{err}");
    assert!(
        stdout(&out).is_empty(),
        "nothing is routed before the batch is valid"
    );
}

#[test]
fn a_bad_context_file_is_exit_2_naming_the_field() {
    let dir = TempDir::new().unwrap();
    let experts = seed_registry(&dir);
    let context = write(
        dir.path(),
        "context.json",
        r#"{"availability": {"art_design": "asleep"}}"#,
    );
    let out = consort(&[
        "--experts",
        &experts,
        "--context",
        context.to_str().unwrap(),
        "logo",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("context.json") && err.contains("availability.art_design"),
        "{err}"
    );
}

#[test]
fn a_context_naming_an_unknown_expert_is_exit_2_with_a_suggestion() {
    let dir = TempDir::new().unwrap();
    let experts = seed_registry(&dir);
    let context = write(
        dir.path(),
        "context.json",
        r#"{"previous_expert": "legal_consultant", "collaborators": ["art_design", "finance_acountant"]}"#,
    );
    let out = consort(&[
        "--experts",
        &experts,
        "--context",
        context.to_str().unwrap(),
        "check the numbers",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("context.json")
            && err.contains("collaborators[1]")
            && err.contains("\"finance_acountant\"")
            && err.contains("did you mean \"finance_accountant\"?"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());

    let batch = write(
        dir.path(),
        "batch.jsonl",
        "{\"id\": \"a\", \"request\": \"tax\"}\n{\"id\": \"b\", \"request\": \"yes\", \"context\": {\"load\": {\"pm\": 2}}}\n",
    );
    let out = consort(&["--experts", &experts, "--batch", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("batch.jsonl:2:") && err.contains("load.pm"),
        "{err}"
    );
    assert!(
        stdout(&out).is_empty(),
        "nothing is routed before every context is valid"
    );
}
