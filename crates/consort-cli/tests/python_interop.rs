//! `consort serve` against an independent client: the official Python SDK
//! (`mcp` 2.x), over stdio and streamable HTTP, in its 2026-07-28 and
//! legacy modes (tests/interop/python_client.py).
//!
//! The interpreter comes from `CONSORT_PYTHON` (a venv with
//! tests/interop/requirements.txt installed; `.ci/run` makes one). Without
//! it the test is skipped with a notice, unless `CONSORT_REQUIRE_PYTHON_MCP`
//! is set, as in CI, where a skip is a failure.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;

use support::Files;

#[test]
fn the_official_python_sdk_uses_every_transport_and_mode() {
    let Some(python) = std::env::var_os("CONSORT_PYTHON") else {
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
        return;
    };
    let files = Files::new();
    let workflows = files.path("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    files.write(
        "workflows/marketing.json",
        consort_protocol::seeds::MARKETING_CAMPAIGN_WORKFLOW,
    );
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/python_client.py"
    );
    let out = Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_consort"))
        .arg(files.path("registry.json"))
        .arg(&workflows)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for combination in ["stdio/auto", "http/auto", "stdio/legacy", "http/legacy"] {
        assert!(
            stdout.contains(&format!("ok {combination} ")),
            "{combination} did not run:\n{stdout}"
        );
    }
    assert!(stdout.contains("(2026-07-28)"), "{stdout}");
}
