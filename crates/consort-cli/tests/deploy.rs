//! `consort workflow run/resume --deploy` and `consort experts check`
//! against real expert processes (the `expert_server` example): a bad
//! deployment is bad input naming its path, and a coordinator killed
//! mid-run resumes without calling any completed step again.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{
    Files, MARKETING_ROLES, Redis, Running, code, command, consort, journal_calls, ok,
    run_marketing, stderr, stdio_deployment,
};

#[test]
fn a_run_calls_the_deployed_experts_and_finance_sends_the_budget_back() {
    let files = Files::new();
    let journal = files.path("journal");
    let deploy = stdio_deployment(&files, &MARKETING_ROLES, &journal, &[]);
    let out = run_marketing(
        &files,
        &[
            "--deploy",
            &deploy,
            "--run-id",
            "r-1",
            "--params",
            r#"{"proposed_budget": 150000, "budget_limit": 100000}"#,
        ],
    )
    .output()
    .unwrap();
    let report = ok(&out);
    assert!(report.contains("completed"), "{report}");
    let log = stderr(&out);
    assert!(log.contains("deploy.json: 5 experts answered"), "{log}");
    // The experts' own progress notifications, as the run's progress lines.
    assert!(
        log.contains("step 2 Strategy Development: 1/2: marketing_sales is working on step 2"),
        "{log}"
    );
    assert!(
        log.contains("validated_budget 150000 exceeds the limit of 100000"),
        "{log}"
    );
    assert_eq!(journal_calls(&journal, "r-1:2"), 2);
    assert_eq!(journal_calls(&journal, "r-1:3"), 1);
}

#[test]
fn bad_deployments_are_bad_input_that_names_the_path() {
    let files = Files::new();
    let registry = files.path("registry.json");
    let cases = [
        (
            r#"{"experts": {"finance_acountant": {"transport": "stdio", "command": "x"}}}"#,
            "deploy.json: experts.finance_acountant: not in the expert registry; did you mean \"finance_accountant\"?",
        ),
        (
            r#"{"experts": {"finance_accountant": {"transport": "pipe", "command": "x"}}}"#,
            "experts.finance_accountant.transport: unknown variant",
        ),
        (
            r#"{"experts": {"finance_accountant": {"transport": "stdio"}}}"#,
            "experts.finance_accountant: a stdio expert needs `command`",
        ),
        (
            r#"{"experts": {"finance_accountant": {"transport": "http", "url": "http://127.0.0.1:1/mcp"}}}"#,
            "1 of 1 experts failed their check:\n  finance_accountant: unreachable: initializing the MCP session at http://127.0.0.1:1/mcp",
        ),
        (
            r#"{"experts": {"finance_accountant": {"transport": "stdio", "command": "/nonexistent/expert"}}}"#,
            "finance_accountant: unreachable: starting \"/nonexistent/expert\"",
        ),
    ];
    for (text, expected) in cases {
        let deploy = files.write("deploy.json", text);
        let deploy = deploy.display().to_string();
        let out = consort(&[
            "experts",
            "check",
            "--deploy",
            &deploy,
            "--experts",
            &registry,
        ]);
        assert_eq!(code(&out), Some(2), "{text}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{text}\n  gave: {}",
            stderr(&out)
        );
    }

    // A workflow expert the deployment lacks stops the run before it starts.
    let journal = files.path("journal");
    let deploy = stdio_deployment(&files, &MARKETING_ROLES[..4], &journal, &[]);
    let out = run_marketing(&files, &["--deploy", &deploy])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out)
            .contains("deploy.json: no server for project_management (the workflow needs it)"),
        "{}",
        stderr(&out)
    );
    assert!(
        !std::path::Path::new(&journal).exists(),
        "nothing was called"
    );
    // Neither --deploy nor --simulate: say how steps run.
    let out = run_marketing(&files, &[]).output().unwrap();
    assert_eq!(code(&out), Some(2));
    assert!(
        stderr(&out).contains("--deploy DEPLOY.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_coordinator_killed_mid_run_resumes_without_calling_completed_steps_again() {
    let Some(redis) = Redis::or_skip("a_coordinator_killed_mid_run_resumes") else {
        return;
    };
    let files = Files::new();
    let journal = files.path("journal");
    let deploy = stdio_deployment(&files, &MARKETING_ROLES, &journal, &["--delay-ms", "300"]);
    let mut run = Running::spawn(
        run_marketing(
            &files,
            &["--deploy", &deploy, "--run-id", "k-1", "--lease-ttl", "1s"],
        )
        .args(redis.args()),
    );
    run.wait_for(|l| l.contains("step 2 Strategy Development: completed"));
    run.signal("KILL");
    let _ = run.finish();
    let completed_before = [1, 2];

    let mut resume = command();
    resume
        .args([
            "workflow",
            "resume",
            "k-1",
            "--deploy",
            &deploy,
            "--wait=10s",
        ])
        .args(redis.args());
    let out = resume.output().unwrap();
    let report = ok(&out);
    assert!(report.contains("completed, 100% complete"), "{report}");
    for step in completed_before {
        assert_eq!(
            journal_calls(&journal, &format!("k-1:{step}")),
            1,
            "step {step} completed before the kill and was called again"
        );
    }
    for step in 3..=5 {
        let calls = journal_calls(&journal, &format!("k-1:{step}"));
        assert!((1..=2).contains(&calls), "step {step}: {calls} calls");
    }
}
