//! `consort workflow` end to end: the built binary on the spec's seed workflows.
// Tests: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::{Files, code, consort, ok, stderr};

#[test]
fn both_seed_workflows_validate() {
    let f = Files::new();
    for (name, steps, edges) in [("marketing.json", 5, 4), ("expansion.json", 6, 5)] {
        let out = ok(&consort(&[
            "workflow",
            "validate",
            &f.path(name),
            "--experts",
            &f.path("registry.json"),
        ]));
        assert!(
            out.contains(&format!(
                "is valid: {steps} steps, {edges} dependencies, 1 starting step(s)"
            )),
            "{out}"
        );
    }
}

#[test]
fn invalid_workflows_are_bad_input_with_every_problem_named() {
    let f = Files::new();
    let cyclic = f.write(
        "cyclic.json",
        r#"{"workflow_name": "w", "workflow_steps": [
            {"step": 1, "name": "Start", "primary_expert": "personal_assistant", "next_step": 2},
            {"step": 2, "name": "Strategy Development", "primary_expert": "wizard", "next_step": 3},
            {"step": 3, "name": "Creative", "primary_expert": "art_design", "next_step": 2}]}"#,
    );
    let cyclic = cyclic.display().to_string();
    let out = consort(&[
        "workflow",
        "validate",
        &cyclic,
        "--experts",
        &f.path("registry.json"),
    ]);
    assert_eq!(code(&out), Some(2));
    let err = stderr(&out);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(
        err.contains("cycle: step 2 (Strategy Development) -> step 3 (Creative) -> step 2 (Strategy Development)"),
        "{err}"
    );
    assert!(
        err.contains("workflow_steps[1].primary_expert: expert \"wizard\" in step 2 (Strategy Development) is not in the expert registry"),
        "{err}"
    );

    let broken = f.write(
        "broken.json",
        r#"{"workflow_name": "w", "workflow_steps": [{"step": "one"}]}"#,
    );
    let out = consort(&["workflow", "validate", &broken.display().to_string()]);
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("broken.json: workflow_steps[0].step:"),
        "{}",
        stderr(&out)
    );

    let out = consort(&["workflow", "validate", &f.path("missing.json")]);
    assert_eq!(code(&out), Some(2));
}

#[test]
fn both_seed_workflows_render() {
    let f = Files::new();
    let mermaid = ok(&consort(&[
        "workflow",
        "render",
        &f.path("marketing.json"),
        "--format",
        "mermaid",
    ]));
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    for edge in ["s1 --> s2", "s2 --> s3", "s3 --> s4", "s4 --> s5"] {
        assert!(mermaid.contains(edge), "{mermaid}");
    }
    let dot = ok(&consort(&[
        "workflow",
        "render",
        &f.path("expansion.json"),
        "--format",
        "dot",
    ]));
    assert!(
        dot.starts_with("digraph \"business_expansion_analysis\" {"),
        "{dot}"
    );
    for edge in [
        "s1 -> s2;",
        "s2 -> s3;",
        "s3 -> s4;",
        "s4 -> s5;",
        "s5 -> s6;",
    ] {
        assert!(dot.contains(edge), "{dot}");
    }
}

/// Seconds since an arbitrary origin, from an RFC 3339 UTC timestamp
/// (`2026-01-02T03:04:05.123Z`); enough to order timestamps within a test.
fn seconds(timestamp: &Value) -> f64 {
    let text = timestamp.as_str().unwrap();
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap();
    let days: f64 = date
        .split('-')
        .fold(0.0, |acc, part| acc * 40.0 + part.parse::<f64>().unwrap());
    let mut parts = time.split(':').map(|p| p.parse::<f64>().unwrap());
    let (h, m, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    days * 86_400.0 + h * 3600.0 + m * 60.0 + s
}

fn run_json(f: &Files, file: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "workflow",
        "run",
        file,
        "--experts",
        "REGISTRY",
        "--simulate",
        "--delay-ms",
        "15",
        "--json",
    ];
    let registry = f.path("registry.json");
    args[4] = &registry;
    args.extend_from_slice(extra);
    let out = ok(&consort(&args));
    serde_json::from_str(&out).unwrap()
}

/// Each step started after the one before it finished (both seeds are chains).
fn assert_chained(status: &Value, steps: usize) {
    assert_eq!(status["state"], "completed");
    assert_eq!(status["percent_complete"], 100.0);
    let list = status["steps"].as_array().unwrap();
    assert_eq!(list.len(), steps);
    for (i, step) in list.iter().enumerate() {
        assert_eq!(step["id"], i + 1);
        assert_eq!(step["state"], "completed");
        assert_eq!(step["attempts"], 1);
        assert!(
            step["outputs"].as_object().is_some_and(|o| !o.is_empty()),
            "{step}"
        );
        assert!(seconds(&step["started_at"]) <= seconds(&step["finished_at"]));
        if i > 0 {
            let before = &list[i - 1];
            assert!(
                seconds(&before["finished_at"]) <= seconds(&step["started_at"]),
                "step {} started before step {} finished",
                i + 1,
                i
            );
        }
    }
}

#[test]
fn both_seed_workflows_run_simulated_in_definition_order() {
    let f = Files::new();
    let marketing = run_json(&f, &f.path("marketing.json"), &[]);
    assert_chained(&marketing, 5);
    let outputs = marketing["steps"][1]["outputs"].as_object().unwrap();
    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec!["channel_plan", "marketing_strategy", "validated_budget"]
    );
    assert_eq!(
        outputs["validated_budget"],
        "simulated validated_budget from marketing_sales"
    );

    // Numbered-only steps run in number order.
    let expansion = run_json(&f, &f.path("expansion.json"), &["--run-id", "exp-1"]);
    assert_eq!(expansion["run_id"], "exp-1");
    assert_chained(&expansion, 6);
}

#[test]
fn running_needs_simulate_and_good_input() {
    let f = Files::new();
    let out = consort(&[
        "workflow",
        "run",
        &f.path("marketing.json"),
        "--experts",
        &f.path("registry.json"),
    ]);
    assert_eq!(code(&out), Some(2));
    assert!(stderr(&out).contains("--simulate"), "{}", stderr(&out));
    let out = consort(&[
        "workflow",
        "run",
        &f.path("marketing.json"),
        "--experts",
        &f.path("registry.json"),
        "--simulate",
        "--run-id",
        "no spaces",
    ]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let out = consort(&["workflow", "status", "x"]);
    assert_eq!(code(&out), Some(2));
}

#[test]
fn an_unreachable_backend_fails_with_exit_1() {
    let f = Files::new();
    let out = consort(&[
        "workflow",
        "run",
        &f.path("marketing.json"),
        "--experts",
        &f.path("registry.json"),
        "--simulate",
        "--backend",
        "redis://127.0.0.1:1/",
    ]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--backend"), "{}", stderr(&out));
}

#[test]
fn runs_on_redis_are_visible_to_status_render_and_resume() {
    let Some(redis) =
        support::Redis::or_skip("runs_on_redis_are_visible_to_status_render_and_resume")
    else {
        return;
    };
    let f = Files::new();
    let store = redis.args();
    let run = run_json(
        &f,
        &f.path("marketing.json"),
        &[&["--run-id", "m-1"][..], &store[..]].concat(),
    );
    assert_chained(&run, 5);

    let status: Value = serde_json::from_str(&ok(&consort(
        &[&["workflow", "status", "m-1", "--json"][..], &store[..]].concat(),
    )))
    .unwrap();
    assert_eq!(status, run);
    let table = ok(&consort(
        &[&["workflow", "status", "m-1"][..], &store[..]].concat(),
    ));
    assert!(
        table.starts_with("run m-1 (comprehensive_marketing_campaign): completed, 100% complete"),
        "{table}"
    );

    let coloured = ok(&consort(
        &[
            &[
                "workflow",
                "render",
                &f.path("marketing.json"),
                "--format",
                "mermaid",
                "--run",
                "m-1",
            ][..],
            &store[..],
        ]
        .concat(),
    ));
    assert!(
        coloured.contains("class s1,s2,s3,s4,s5 completed"),
        "{coloured}"
    );

    // Resuming a completed run changes nothing.
    let resumed = ok(&consort(
        &[
            &["workflow", "resume", "m-1", "--simulate", "--json"][..],
            &store[..],
        ]
        .concat(),
    ));
    assert_eq!(serde_json::from_str::<Value>(&resumed).unwrap(), run);

    let out = consort(&[&["workflow", "status", "nope"][..], &store[..]].concat());
    assert_eq!(code(&out), Some(1));
    assert!(
        stderr(&out).contains("run \"nope\" not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn diagnostics_follow_verbosity_and_rust_log() {
    let f = Files::new();
    let run = |verbosity: Option<&str>, rust_log: Option<&str>| {
        let mut command = support::command();
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        command.args(verbosity);
        command.args([
            "workflow",
            "run",
            &f.path("marketing.json"),
            "--experts",
            &f.path("registry.json"),
            "--simulate",
            "--run-id",
            "traced",
        ]);
        command.output().unwrap()
    };
    // By default stderr has progress lines, not diagnostics.
    let quiet = run(None, None);
    ok(&quiet);
    assert!(
        !stderr(&quiet).contains("step_attempt"),
        "{}",
        stderr(&quiet)
    );
    // -vv: one span per attempt, with the run, step, attempt and expert.
    let debug = run(Some("-vv"), None);
    ok(&debug);
    let err = stderr(&debug);
    assert!(
        err.contains("step_attempt{run=traced step=2 attempt=1 expert=marketing_sales}"),
        "{err}"
    );
    assert!(err.contains("step attempt ended"), "{err}");
    assert!(
        err.contains("step completed run=traced step=5 completed=5"),
        "{err}"
    );
    // RUST_LOG alone does it too, and a bad one is bad input.
    let filtered = run(None, Some("consort_workflow=debug"));
    assert!(stderr(&filtered).contains("step_attempt{run=traced step=5"));
    let bad = run(None, Some("consort_workflow=loud"));
    assert_eq!(code(&bad), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("RUST_LOG"), "{}", stderr(&bad));
}

#[test]
fn a_definition_too_large_for_the_backend_is_bad_input_at_validate_time() {
    let f = Files::new();
    // One step whose actions take 17 MiB: over the 16 MiB a backend value holds.
    let actions = vec!["x".repeat(1 << 20); 17];
    let big = serde_json::json!({"workflow_name": "huge", "workflow_steps": [
        {"step": 1, "name": "Everything", "primary_expert": "marketing_sales", "actions": actions}
    ]});
    let file = f.write("huge.json", &big.to_string());
    let file = file.display().to_string();
    let out = consort(&["workflow", "validate", &file]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("huge.json: workflow \"huge\" takes"), "{err}");
    assert!(
        err.contains("over the backend's limit of 16777216 bytes"),
        "{err}"
    );
    let out = consort(&[
        "workflow",
        "run",
        &file,
        "--experts",
        &f.path("registry.json"),
        "--simulate",
    ]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
}
