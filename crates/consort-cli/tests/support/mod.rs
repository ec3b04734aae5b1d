//! Running the built `consort` binary in tests: input files, one-shot runs,
//! children whose stderr is followed line by line, signals, Redis.
// Test support: failing loudly is the right reaction to a broken fixture.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use consort_protocol::seeds;
use serde_json::{Value, json};

/// Input files in a temporary directory: the seed workflows and registry,
/// and `ladder.json`, 40 steps in two interleaved chains.
pub struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    pub fn new() -> Self {
        let files = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        files.write("marketing.json", seeds::MARKETING_CAMPAIGN_WORKFLOW);
        files.write("expansion.json", seeds::BUSINESS_EXPANSION_WORKFLOW);
        files.write("registry.json", seeds::EXPERT_REGISTRY);
        let steps: Vec<Value> = (1..=40)
            .map(|i: u32| {
                let deps: Vec<u32> = if i > 2 { vec![i - 2] } else { vec![] };
                json!({"step": i, "name": format!("Rung {i}"), "primary_expert": "marketing_sales",
                       "outputs": ["result"], "depends_on": deps})
            })
            .collect();
        let ladder = json!({"workflow_name": "ladder", "workflow_steps": steps});
        files.write("ladder.json", &ladder.to_string());
        files
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// The binary, with nothing from the environment that changes its
/// behaviour (a developer's `CONSORT_REDIS_URL` or `RUST_LOG`).
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_consort"));
    command
        .env_remove("CONSORT_REDIS_URL")
        .env_remove("RUST_LOG");
    command
}

pub fn consort(args: &[&str]) -> Output {
    command().args(args).output().unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Stdout of a run that must exit 0.
pub fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

/// A `consort` child whose stderr is read line by line as it comes.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    pub fn spawn(command: &mut Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 60 s) for a stderr line for which `wanted` holds.
    pub fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no such line ({e}); stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends `signal` (`INT`, `TERM`, `KILL`) to the child.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Exit code and the rest of stdout and stderr.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        let status = self.child.wait().unwrap();
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code(), out, self.seen.join("\n"))
    }
}

/// A Redis for the test (see `consort_state::testkit::redis_url_or_skip`),
/// with a namespace of its own: the `--backend` and `--namespace` arguments.
pub struct Redis {
    _target: consort_state::testkit::RedisTarget,
    pub url: String,
    pub namespace: String,
}

impl Redis {
    pub fn or_skip(test: &str) -> Option<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let target = runtime.block_on(consort_state::testkit::redis_url_or_skip(test))?;
        Some(Self {
            url: target.url().to_owned(),
            _target: target,
            namespace: consort_state::testkit::random_namespace("cli"),
        })
    }

    pub fn args(&self) -> [&str; 4] {
        ["--backend", &self.url, "--namespace", &self.namespace]
    }
}

/// The `expert_server` example's binary, which `cargo test --workspace`
/// builds beside this test's (target/debug/examples).
pub fn expert_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .join("examples")
        .join("expert_server");
    assert!(
        path.exists(),
        "{} is missing: build it with cargo build -p consort-examples --example expert_server \
         (cargo test --workspace does)",
        path.display()
    );
    path
}

/// The five experts of the marketing seed.
pub const MARKETING_ROLES: [&str; 5] = [
    "personal_assistant",
    "marketing_sales",
    "finance_accountant",
    "art_design",
    "project_management",
];

/// Writes `deploy.json`: each role a stdio `expert_server` journaling to
/// `journal`, with `extra` flags; returns its path.
pub fn stdio_deployment(files: &Files, roles: &[&str], journal: &str, extra: &[&str]) -> String {
    let server = expert_server().display().to_string();
    let experts: serde_json::Map<String, Value> = roles
        .iter()
        .map(|role| {
            let mut args = vec!["--role", role, "--journal", journal];
            args.extend_from_slice(extra);
            (
                (*role).to_owned(),
                json!({"transport": "stdio", "command": server, "args": args}),
            )
        })
        .collect();
    files.write("deploy.json", &json!({"experts": experts}).to_string());
    files.path("deploy.json")
}

/// The calls of idempotency key `key` in an expert journal.
pub fn journal_calls(journal: &str, key: &str) -> usize {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["event"] == "call" && line["key"] == key)
        .count()
}

/// `consort workflow run marketing.json --experts registry.json EXTRA...`.
pub fn run_marketing(files: &Files, extra: &[&str]) -> Command {
    let mut cmd = command();
    cmd.args(["workflow", "run", &files.path("marketing.json")])
        .args(["--experts", &files.path("registry.json")])
        .args(extra);
    cmd
}
