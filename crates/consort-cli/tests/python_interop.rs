//! consort against independent MCP peers on the official Python SDK (`mcp`
//! 2.x): `consort serve` driven by its client over stdio and streamable
//! HTTP, in its 2026-07-28 and legacy modes (tests/interop/python_client.py),
//! and answering a question for a human in both
//! (tests/interop/python_human.py); and workflow steps calling experts
//! served by it (tests/interop/python_expert.py).
//!
//! The interpreter comes from `CONSORT_PYTHON` (a venv with
//! tests/interop/requirements.txt installed; `.ci/run` makes one). Without
//! it the test is skipped with a notice, unless `CONSORT_REQUIRE_PYTHON_MCP`
//! is set, as in CI, where a skip is a failure.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use serde_json::json;
use support::{Files, MARKETING_ROLES, Running, ok, run_marketing, stderr, stdio_deployment};

/// The interpreter of `CONSORT_PYTHON`; `None` (a skip, with a notice)
/// when it is unset, unless CI requires the test.
fn python() -> Option<std::ffi::OsString> {
    let python = std::env::var_os("CONSORT_PYTHON");
    if python.is_none() {
        assert!(
            std::env::var_os("CONSORT_REQUIRE_PYTHON_MCP").is_none(),
            "CONSORT_REQUIRE_PYTHON_MCP is set but CONSORT_PYTHON is not"
        );
        #[allow(clippy::print_stderr, reason = "a skipped test says why")]
        {
            eprintln!(
                "skipping: set CONSORT_PYTHON to a Python with tests/interop/requirements.txt installed"
            );
        }
    }
    python
}

/// Runs the client script `script` (in tests/interop) with the consort
/// binary, the seed registry, a workflows directory holding the marketing
/// seed, and `extra` arguments; it must succeed, and every `combination`
/// must have printed its `ok` line. Returns what it printed.
fn client_script(
    python: std::ffi::OsString,
    files: &Files,
    script: &str,
    extra: &[&str],
    combinations: &[&str],
) -> String {
    let workflows = files.path("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    files.write(
        "workflows/marketing.json",
        consort_protocol::seeds::MARKETING_CAMPAIGN_WORKFLOW,
    );
    let out = Command::new(python)
        .arg(format!(
            "{}/tests/interop/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(env!("CARGO_BIN_EXE_consort"))
        .arg(files.path("registry.json"))
        .arg(&workflows)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for combination in combinations {
        assert!(
            stdout.contains(&format!("ok {combination}")),
            "{combination} did not run:\n{stdout}"
        );
    }
    stdout
}

#[test]
fn the_official_python_sdk_uses_every_transport_and_mode() {
    let Some(python) = python() else {
        return;
    };
    let stdout = client_script(
        python,
        &Files::new(),
        "python_client.py",
        &[],
        &["stdio/auto ", "http/auto ", "stdio/legacy ", "http/legacy "],
    );
    assert!(stdout.contains("(2026-07-28)"), "{stdout}");
}

/// A step's question for a human reaches the Python SDK's elicitation
/// callback, as an input-required result (2026-07-28) and as
/// `elicitation/create` (legacy), over stdio and streamable HTTP, and the
/// answer completes the run (tests/interop/python_human.py).
#[test]
fn the_official_python_sdk_answers_a_question_for_a_human() {
    let Some(python) = python() else {
        return;
    };
    let files = Files::new();
    let journal = files.path("journal");
    let deploy = stdio_deployment(
        &files,
        &MARKETING_ROLES,
        &journal,
        &["--ask-human-step", "2"],
    );
    client_script(
        python,
        &files,
        "python_human.py",
        &[&deploy],
        &[
            "stdio/auto (2026-07-28)",
            "http/auto (2026-07-28)",
            "stdio/legacy",
            "http/legacy",
        ],
    );
}

#[test]
fn workflow_steps_call_experts_served_by_the_python_sdk() {
    let Some(python) = python() else {
        return;
    };
    let python = python.to_string_lossy().into_owned();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/python_expert.py"
    );
    let files = Files::new();
    let journal = files.path("journal");
    // Finance over streamable HTTP, the other four over stdio.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut finance = Running::spawn(Command::new(&python).args([
        script,
        "finance_accountant",
        &journal,
        "http",
        &port.to_string(),
    ]));
    finance.wait_for(|l| l.starts_with("serving MCP at "));
    // The script announces the address before uvicorn listens on it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the Python expert never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut experts = serde_json::Map::new();
    for role in MARKETING_ROLES {
        let server = if role == "finance_accountant" {
            json!({"transport": "http", "url": format!("http://127.0.0.1:{port}/mcp")})
        } else {
            json!({"transport": "stdio", "command": python, "args": [script, role, journal, "stdio"]})
        };
        experts.insert(role.to_owned(), server);
    }
    let deploy = files.write("deploy.json", &json!({"experts": experts}).to_string());

    let deploy = deploy.display().to_string();
    let out = run_marketing(
        &files,
        &[
            "--deploy",
            &deploy,
            "--run-id",
            "py-1",
            "--params",
            r#"{"proposed_budget": 150000, "budget_limit": 100000}"#,
        ],
    )
    .output()
    .unwrap();
    let report = ok(&out);
    assert!(report.contains("completed, 100% complete"), "{report}");
    assert!(
        stderr(&out).contains("validated_budget 150000 is over 100000"),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("\"kind\": \"validate\""))
            .count(),
        5
    );
    let strategy = text
        .lines()
        .filter(|l| l.contains("\"kind\": \"execute\", \"step\": 2,"))
        .count();
    assert_eq!(strategy, 2, "finance sent the strategy back once:\n{text}");
    let _ = finance.child.kill();
}
