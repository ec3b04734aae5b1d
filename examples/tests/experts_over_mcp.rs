//! Workflows whose steps call real expert processes over MCP: the
//! `expert_server` example, over stdio and streamable HTTP, through
//! `McpExecutor`. Crashes, hangs and failures are the processes' own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use consort::mcp::experts::{CircuitConfig, CircuitState, Deployment, ExpertServer, McpExecutor};
use consort::protocol::{load_workflow, seeds};
use consort::state::{Delivery, MemoryBackend, StateBackend};
use consort::workflow::{Engine, EngineConfig, RunState, RunStatus, WorkflowGraph};
use serde_json::{Value, json};

/// The example's binary, built by `cargo test` beside this test's.
fn expert_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join("examples").join("expert_server");
    assert!(
        path.exists(),
        "{} is missing: cargo test builds it (cargo build -p consort-examples --example expert_server)",
        path.display()
    );
    path
}

/// Calls recorded in the experts' journal, as JSON lines.
fn journal(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn calls_of(journal: &[Value], key: &str) -> Vec<Value> {
    journal
        .iter()
        .filter(|line| line["event"] == "call" && line["key"] == key)
        .cloned()
        .collect()
}

/// A stdio expert for `role` writing to `journal`, with `extra` flags.
fn stdio_expert(role: &str, journal: &Path, extra: &[&str]) -> ExpertServer {
    ExpertServer::stdio(expert_server().display().to_string())
        .with_args(["--role", role, "--journal", &journal.display().to_string()])
        .with_args(extra.iter().copied())
        .with_timeout(Duration::from_secs(20))
}

fn stdio_deployment(roles: &[&str], journal: &Path) -> Deployment {
    roles.iter().fold(Deployment::new(), |d, role| {
        d.with_expert(*role, stdio_expert(role, journal, &[]))
    })
}

const MARKETING_ROLES: [&str; 5] = [
    "personal_assistant",
    "marketing_sales",
    "finance_accountant",
    "art_design",
    "project_management",
];

fn engine_with(executor: Arc<McpExecutor>) -> (Engine, Arc<dyn StateBackend>) {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("experts").unwrap());
    let config = EngineConfig::default();
    let engine = Engine::new(Arc::clone(&backend), executor, config).unwrap();
    (engine, backend)
}

async fn run(engine: &Engine, spec: &str, run_id: &str, params: Value) -> RunStatus {
    let graph = WorkflowGraph::build(&load_workflow(spec).unwrap()).unwrap();
    let Value::Object(params) = params else {
        panic!("params are an object")
    };
    engine
        .new_run(&graph)
        .with_run_id(run_id)
        .with_params(params)
        .run_to_end()
        .await
        .unwrap()
}

/// Every message on the bus until the subscription is dropped.
async fn collect_topics(
    backend: &Arc<dyn StateBackend>,
) -> tokio::sync::mpsc::UnboundedReceiver<(String, Value)> {
    let mut subscription = backend.subscribe("*").await.unwrap();
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(delivery) = subscription.recv().await {
            if let Delivery::Message { topic, payload } = delivery {
                let event: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
                if sender.send((topic, event)).is_err() {
                    break;
                }
            }
        }
    });
    receiver
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketing_seed_runs_over_stdio_and_finance_sends_the_budget_back() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let executor = Arc::new(McpExecutor::new(&stdio_deployment(
        &MARKETING_ROLES,
        &journal_file,
    )));
    let (engine, backend) = engine_with(Arc::clone(&executor));
    let mut events = collect_topics(&backend).await;

    let params = json!({"proposed_budget": 150_000, "budget_limit": 100_000});
    let status = run(&engine, seeds::MARKETING_CAMPAIGN_WORKFLOW, "m-1", params).await;

    assert_eq!(status.state, RunState::Completed, "{status:?}");
    let step2 = status.step(2).unwrap();
    assert_eq!(step2.attempts, 2, "finance rejected the first budget");
    let outputs = step2.outputs.as_ref().unwrap();
    assert_eq!(outputs["validated_budget"], 100_000.0);
    assert!(
        outputs["marketing_strategy"]
            .as_str()
            .unwrap()
            .contains("marketing_sales")
    );

    let journal = journal(&journal_file);
    assert_eq!(calls_of(&journal, "m-1:2").len(), 2);
    assert_eq!(calls_of(&journal, "m-1:2:check:0").len(), 2);
    assert_eq!(calls_of(&journal, "m-1:1").len(), 1);
    assert_eq!(calls_of(&journal, "m-1:5").len(), 1);
    // One session per expert: every call of a role came from one process.
    for role in MARKETING_ROLES {
        let mut pids: Vec<_> = journal
            .iter()
            .filter(|l| l["role"] == role)
            .map(|l| l["pid"].clone())
            .collect();
        pids.dedup();
        assert_eq!(pids.len(), 1, "{role} was started more than once");
    }

    let progress = loop {
        let (topic, event) = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("a workflow:step_progress event")
            .unwrap();
        if topic == "workflow:step_progress" {
            break event;
        }
    };
    assert_eq!(progress["data"]["run_id"], "m-1");
    assert!(
        progress["data"]["detail"]
            .as_str()
            .unwrap()
            .contains("1/2: "),
        "{progress}"
    );
    executor.close().await;
}

/// A child expert serving streamable HTTP on a free port.
struct HttpExpert {
    child: Child,
    url: String,
}

impl HttpExpert {
    fn start(role: &str, journal: &Path) -> Self {
        let mut child = Command::new(expert_server())
            .args(["--role", role, "--http", "127.0.0.1:0", "--journal"])
            .arg(journal)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .last()
            .filter(|u| u.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for HttpExpert {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every expert a workflow calls: primary experts and validators.
fn roles_of(graph: &WorkflowGraph) -> Vec<String> {
    let mut roles: Vec<String> = graph
        .steps()
        .iter()
        .flat_map(|s| {
            std::iter::once(s.primary_expert.to_string()).chain(
                s.collaboration_points
                    .iter()
                    .map(|p| p.with_expert.to_string()),
            )
        })
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

fn graph_of(spec: &str) -> WorkflowGraph {
    WorkflowGraph::build(&load_workflow(spec).unwrap()).unwrap()
}

/// Each step of `spec` was called exactly once in run `run_id`.
fn assert_each_step_called_once(journal_file: &Path, spec: &str, run_id: &str) {
    let journal = journal(journal_file);
    for step in graph_of(spec).steps() {
        let key = format!("{run_id}:{}", step.number);
        assert_eq!(calls_of(&journal, &key).len(), 1, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_seeds_run_over_streamable_http() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let seeds = [
        seeds::MARKETING_CAMPAIGN_WORKFLOW,
        seeds::BUSINESS_EXPANSION_WORKFLOW,
    ];
    let mut roles: Vec<String> = seeds.iter().flat_map(|s| roles_of(&graph_of(s))).collect();
    roles.sort();
    roles.dedup();
    let experts: Vec<(String, HttpExpert)> = roles
        .iter()
        .map(|role| (role.clone(), HttpExpert::start(role, &journal_file)))
        .collect();
    let deployment = experts.iter().fold(Deployment::new(), |d, (role, expert)| {
        d.with_expert(role.as_str(), ExpertServer::http(&expert.url))
    });
    let executor = Arc::new(McpExecutor::new(&deployment));
    assert!(executor.check().await.iter().all(|c| c.problem.is_none()));
    let (engine, _) = engine_with(Arc::clone(&executor));

    for (spec, run_id) in seeds.iter().zip(["hm-1", "hx-1"]) {
        let status = run(&engine, spec, run_id, json!({})).await;
        assert_eq!(status.state, RunState::Completed, "{status:?}");
        assert_each_step_called_once(&journal_file, spec, run_id);
    }
    executor.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expansion_seed_runs_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let roles = roles_of(&graph_of(seeds::BUSINESS_EXPANSION_WORKFLOW));
    let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
    let executor = Arc::new(McpExecutor::new(&stdio_deployment(&roles, &journal_file)));
    let (engine, _) = engine_with(Arc::clone(&executor));

    let status = run(
        &engine,
        seeds::BUSINESS_EXPANSION_WORKFLOW,
        "sx-1",
        json!({}),
    )
    .await;

    assert_eq!(status.state, RunState::Completed, "{status:?}");
    assert_each_step_called_once(&journal_file, seeds::BUSINESS_EXPANSION_WORKFLOW, "sx-1");
    executor.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expert_killed_mid_call_is_started_again_and_its_step_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let deployment = stdio_deployment(&MARKETING_ROLES, &journal_file).with_expert(
        "personal_assistant",
        stdio_expert(
            "personal_assistant",
            &journal_file,
            &["--crash-once-step", "1"],
        ),
    );
    let executor = Arc::new(McpExecutor::new(&deployment));
    let (engine, _) = engine_with(Arc::clone(&executor));

    let status = run(
        &engine,
        seeds::MARKETING_CAMPAIGN_WORKFLOW,
        "k-1",
        json!({}),
    )
    .await;

    assert_eq!(status.state, RunState::Completed, "{status:?}");
    assert_eq!(status.step(1).unwrap().attempts, 2);
    let journal = journal(&journal_file);
    let calls = calls_of(&journal, "k-1:1");
    assert_eq!(calls.len(), 2, "the crashed call and its retry");
    assert_ne!(
        calls[0]["pid"], calls[1]["pid"],
        "the retry reached a new process"
    );
    // Step 5 is the same expert again: the restarted process served it.
    assert_eq!(calls_of(&journal, "k-1:5")[0]["pid"], calls[1]["pid"]);
    executor.close().await;
}

/// One step, with a retry policy of its own.
fn one_step(expert: &str, max_attempts: u32, backoff_ms: u64) -> String {
    json!({
        "workflow_name": "one_step",
        "workflow_steps": [{
            "step": 1, "name": "Only", "primary_expert": expert, "outputs": ["answer"],
            "retry": {"max_attempts": max_attempts, "initial_backoff_ms": backoff_ms,
                      "max_backoff_ms": backoff_ms}
        }]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_call_times_out_and_the_expert_sees_the_cancellation() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let expert = stdio_expert("legal_consultant", &journal_file, &["--hang-step", "1"])
        .with_timeout(Duration::from_millis(300));
    let executor = Arc::new(McpExecutor::new(
        &Deployment::new().with_expert("legal_consultant", expert),
    ));
    let (engine, _) = engine_with(Arc::clone(&executor));

    let status = run(
        &engine,
        &one_step("legal_consultant", 2, 10),
        "h-1",
        json!({}),
    )
    .await;

    assert_eq!(status.state, RunState::Failed, "{status:?}");
    let error = status.step(1).unwrap().error.clone().unwrap_or_default();
    assert!(error.contains("no answer within 300ms"), "{error}");
    // The expert saw both calls cancelled (notifications/cancelled).
    let mut cancelled = 0;
    for _ in 0..100 {
        cancelled = journal(&journal_file)
            .iter()
            .filter(|l| l["event"] == "cancelled" && l["key"] == "h-1:1")
            .count();
        if cancelled == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cancelled, 2);
    executor.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_after_failures_and_a_probe_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let expert = stdio_expert("hr_specialist", &journal_file, &["--fail-calls", "2"])
        .with_circuit_breaker(CircuitConfig::new(2, Duration::from_millis(400)));
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("circuit").unwrap());
    let executor = Arc::new(
        McpExecutor::new(&Deployment::new().with_expert("hr_specialist", expert))
            .with_events(Arc::clone(&backend), "test"),
    );
    let engine = Engine::new(
        Arc::clone(&backend),
        executor.clone(),
        EngineConfig::default(),
    )
    .unwrap();
    // Each circuit event with the record the backend held when it arrived.
    let mut circuit_events = backend.subscribe("expert:circuit_*").await.unwrap();
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel();
    let reader = Arc::clone(&backend);
    tokio::spawn(async move {
        while let Some(Delivery::Message { topic, payload }) = circuit_events.recv().await {
            let record = reader.get("mcp:circuit:hr_specialist").await.unwrap();
            let record: Option<Value> = record.map(|r| serde_json::from_slice(&r.value).unwrap());
            let event: Value = serde_json::from_slice(&payload).unwrap();
            if sender.send((topic, event, record)).is_err() {
                break;
            }
        }
    });

    // Two failures open the circuit; attempts 100 ms apart then fail fast
    // until the 400 ms are up, when one probe (the third call) succeeds.
    let status = run(
        &engine,
        &one_step("hr_specialist", 12, 100),
        "c-1",
        json!({}),
    )
    .await;

    assert_eq!(status.state, RunState::Completed, "{status:?}");
    assert!(
        status.step(1).unwrap().attempts >= 4,
        "fast failures while open"
    );
    assert_eq!(calls_of(&journal(&journal_file), "c-1:1").len(), 3);
    assert_eq!(
        executor.circuit("hr_specialist"),
        Some(CircuitState::Closed)
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (topic, event, record) = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("circuit events")
            .unwrap();
        assert_eq!(event["data"]["expert_id"], "hr_specialist");
        // The record every process's experts_list reads is written before
        // the event goes out, and deleted when the circuit closes.
        match topic.as_str() {
            "expert:circuit_opened" => {
                let record = record.expect("an open circuit's record");
                assert_eq!(record["state"], "open");
                assert_eq!(record["consecutive_failures"], 2);
            }
            _ => assert!(record.is_none(), "{record:?}"),
        }
        seen.push(topic);
    }
    assert_eq!(seen, ["expert:circuit_opened", "expert:circuit_closed"]);
    executor.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_breaches_fail_at_once_and_protocol_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let omits = stdio_expert("legal_consultant", &journal_file, &["--omit", "answer"]);
    let executor = Arc::new(McpExecutor::new(
        &Deployment::new().with_expert("legal_consultant", omits),
    ));
    let (engine, _) = engine_with(Arc::clone(&executor));
    let status = run(
        &engine,
        &one_step("legal_consultant", 3, 10),
        "p-1",
        json!({}),
    )
    .await;
    assert_eq!(status.state, RunState::Failed);
    let step = status.step(1).unwrap();
    assert_eq!(step.attempts, 1, "no retry can fix a broken contract");
    let error = step.error.clone().unwrap_or_default();
    assert!(
        error.contains("lacks the step's declared output \"answer\" (it has: nothing)"),
        "{error}"
    );

    // The consult tool under another name: a protocol error, retried.
    let misnamed = Arc::new(McpExecutor::new(&Deployment::new().with_expert(
        "legal_consultant",
        stdio_expert("legal_consultant", &journal_file, &[]).with_tool("advise"),
    )));
    let (second, _) = engine_with(Arc::clone(&misnamed));
    let status = run(
        &second,
        &one_step("legal_consultant", 2, 10),
        "p-2",
        json!({}),
    )
    .await;
    assert_eq!(status.state, RunState::Failed);
    assert_eq!(
        status.step(1).unwrap().attempts,
        2,
        "a protocol error is retried"
    );
    let error = status.step(1).unwrap().error.clone().unwrap_or_default();
    assert!(error.contains("no tool \"advise\""), "{error}");
    let checks = misnamed.check().await;
    let problem = checks[0].problem.clone().unwrap_or_default();
    assert!(
        problem.contains("has no tool \"advise\" (it has: consult)"),
        "{problem}"
    );
    executor.close().await;
    misnamed.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expert_asks_a_human_and_the_answer_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let asks = stdio_expert(
        "project_management",
        &journal_file,
        &["--ask-human-step", "1"],
    );
    let executor = Arc::new(McpExecutor::new(
        &Deployment::new().with_expert("project_management", asks),
    ));
    let (engine, _) = engine_with(Arc::clone(&executor));

    let status = run(
        &engine,
        &one_step("project_management", 1, 10),
        "q-1",
        json!({}),
    )
    .await;
    assert_eq!(status.state, RunState::WaitingForHuman, "{status:?}");
    let question = status.step(1).unwrap().question.clone().unwrap_or_default();
    assert_eq!(
        question,
        "project_management needs the campaign's launch date"
    );

    let done = engine
        .answer_human("q-1", 1, json!("2027-03-01"))
        .await
        .unwrap();
    assert_eq!(done.state, RunState::Completed, "{done:?}");
    let answer = &done.step(1).unwrap().outputs.as_ref().unwrap()["answer"];
    assert!(
        answer.as_str().unwrap().contains("human_answer"),
        "{answer}"
    );
    assert_eq!(calls_of(&journal(&journal_file), "q-1:1").len(), 2);
    executor.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_engine_drops_is_cancelled_over_mcp_too() {
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    // The deployment would wait 20 s; the step's own timeout drops the call
    // after 300 ms, and the dropped call tells the expert.
    let expert = stdio_expert("legal_consultant", &journal_file, &["--hang-step", "1"]);
    let executor = Arc::new(McpExecutor::new(
        &Deployment::new().with_expert("legal_consultant", expert),
    ));
    let (engine, _) = engine_with(Arc::clone(&executor));
    let text = json!({"workflow_name": "dropped", "workflow_steps": [{
        "step": 1, "name": "Only", "primary_expert": "legal_consultant", "outputs": ["answer"],
        "timeout_ms": 300, "retry": {"max_attempts": 1}}]})
    .to_string();

    let status = run(&engine, &text, "d-1", json!({})).await;

    assert_eq!(status.state, RunState::Failed, "{status:?}");
    let error = status.step(1).unwrap().error.clone().unwrap_or_default();
    assert!(error.contains("timed out after 300ms"), "{error}");
    let mut cancelled = 0;
    for _ in 0..100 {
        cancelled = journal(&journal_file)
            .iter()
            .filter(|l| l["event"] == "cancelled" && l["key"] == "d-1:1")
            .count();
        if cancelled == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cancelled, 1, "the expert never heard of the cancellation");
    executor.close().await;
}

/// `width` steps that all follow step 1 on `expert`: the driver starts them
/// in one turn.
fn burst(expert: &str, width: u32) -> String {
    let steps: Vec<Value> = (1..=width + 1)
        .map(|n| {
            json!({"step": n, "name": format!("Part {n}"), "primary_expert": expert,
                   "outputs": ["answer"], "depends_on": if n == 1 { vec![] } else { vec![1] }})
        })
        .collect();
    json!({"workflow_name": "burst", "workflow_steps": steps}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_calls_that_must_wait_to_be_sent_calls_each_step_once() {
    // 300 calls started in one turn on one session: once the turn's
    // cooperative budget runs out (about 60 calls in), a send has to wait
    // (the boxed path of `McpExecutor`'s send), and each is sent once all
    // the same. A panic put on that path fails this test at step 63.
    let dir = tempfile::tempdir().unwrap();
    let journal_file = dir.path().join("journal");
    let expert = stdio_expert("marketing_sales", &journal_file, &[]).with_max_in_flight(400);
    let executor = Arc::new(McpExecutor::new(
        &Deployment::new().with_expert("marketing_sales", expert),
    ));
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("experts").unwrap());
    let config = EngineConfig::default().with_concurrency(400);
    let engine = Engine::new(backend, Arc::clone(&executor) as _, config).unwrap();
    let spec = burst("marketing_sales", 300);

    let status = run(&engine, &spec, "b-1", json!({})).await;

    assert_eq!(status.state, RunState::Completed, "{:?}", status.error);
    assert_each_step_called_once(&journal_file, &spec, "b-1");
    executor.close().await;
}
