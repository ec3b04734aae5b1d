//! `consort resolve`, run as a user would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// A temporary directory holding the seed registry and the budget example.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("experts.json"),
            consort_protocol::seeds::EXPERT_REGISTRY,
        )
        .unwrap();
        Self { dir }
    }

    fn input(&self, name: &str, doc: &Value) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
        path
    }

    fn resolve(&self, input: &Path, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_consort"))
            .arg("resolve")
            .arg("--experts")
            .arg(self.dir.path().join("experts.json"))
            .arg(input)
            .args(extra)
            .output()
            .unwrap()
    }
}

fn example() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../consort-conflict/examples/budget_disagreement.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn json_output_has_the_documented_shape() {
    let fx = Fixture::new();
    let out = fx.resolve(&fx.input("input.json", &example()), &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();

    let conflicts = report["conflicts"].as_array().unwrap();
    assert!(!conflicts.is_empty());
    for c in conflicts {
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        for key in [
            "kind",
            "subject",
            "strategy",
            "selected",
            "escalated",
            "rationale",
            "alternatives",
            "allocations",
        ] {
            assert!(keys.contains(&key), "{key} missing from {c}");
        }
        let kind = c["kind"].as_str().unwrap();
        assert!(
            [
                "direct_contradiction",
                "priority_conflict",
                "resource_conflict",
                "unclassified"
            ]
            .contains(&kind)
        );
    }
    let budget = conflicts
        .iter()
        .find(|c| c["kind"] == "direct_contradiction")
        .unwrap();
    assert_eq!(budget["subject"], "campaign_budget");
    assert_eq!(budget["strategy"], "weighted_selection");
    assert_eq!(budget["selected"]["position"], 30000);
    // The selected stance carries its weight and share, like every option.
    assert_eq!(
        budget["selected"]["weight"],
        budget["alternatives"][0]["weight"]
    );
    assert_eq!(
        budget["selected"]["share"],
        budget["alternatives"][0]["share"]
    );
    assert!(budget["selected"].get("strategy").is_none());
    assert!(
        budget["rationale"]
            .as_str()
            .unwrap()
            .contains("finance_accountant (authority 1.00 x confidence 0.90")
    );
    assert_eq!(
        budget["alternatives"][1]["experts"],
        json!(["marketing_sales"])
    );

    let resource = conflicts
        .iter()
        .find(|c| c["kind"] == "resource_conflict")
        .unwrap();
    let granted: f64 = resource["allocations"]["budget"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!(granted <= 60_000.0);

    let decision = &report["unified"]["decisions"]["campaign_budget"];
    assert_eq!(decision["position"], 30000);
    assert_eq!(decision["strategy"], "weighted_selection");
    assert_eq!(decision["weight"], budget["selected"]["weight"]);
    let brand = &report["unified"]["decisions"]["brand_assets"];
    assert_eq!(
        (&brand["strategy"], &brand["share"]),
        (&json!("unanimous"), &json!(1.0))
    );
    assert!(report["agreement_rate"].is_f64());
    assert_eq!(report["automatic_resolution_rate"], 1.0);
}

#[test]
fn text_output_names_the_winner_and_why() {
    let fx = Fixture::new();
    let out = fx.resolve(&fx.input("input.json", &example()), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("direct_contradiction on campaign_budget: weighted_selection"),
        "{text}"
    );
    assert!(text.contains("campaign_budget = 30000"), "{text}");
}

#[test]
fn confidence_out_of_range_exits_2_with_its_path() {
    let fx = Fixture::new();
    let mut doc = example();
    doc["recommendations"][2]["confidence_level"] = json!(1.5);
    let path = fx.input("bad.json", &doc);
    let out = fx.resolve(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: recommendations[2].confidence_level: ",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn unknown_expert_exits_2_naming_the_recommendation() {
    let fx = Fixture::new();
    let mut doc = example();
    doc["recommendations"][1]["expert"] = json!("chief_astrologer");
    let out = fx.resolve(&fx.input("ghost.json", &doc), &["--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("recommendations[1].expert: unknown expert \"chief_astrologer\""),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn negative_capacity_and_bad_policy_exit_2() {
    let fx = Fixture::new();
    let mut doc = example();
    doc["capacities"]["budget"] = json!(-1);
    let out = fx.resolve(&fx.input("cap.json", &doc), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("capacities.budget: "),
        "{}",
        stderr(&out)
    );

    let mut doc = example();
    doc["policy"] = json!({"consensus_share": 0.4});
    let out = fx.resolve(&fx.input("policy.json", &doc), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("policy.consensus_share: "),
        "{}",
        stderr(&out)
    );
}
