//! `consort serve` as a real child process, reached by rmcp's client over
//! stdio and over streamable HTTP: tools with schemas, the bearer token,
//! graceful shutdown, and a task that outlives its server on Redis.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig,
    GetTaskParams, Implementation, TaskPayload,
};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use support::{Files, MARKETING_ROLES, Redis, Running, command, journal_calls, stdio_deployment};

type Client = RunningService<RoleClient, ClientConfig>;

fn client_config(tasks: bool) -> ClientConfig {
    let capabilities = if tasks {
        ClientCapabilities::builder().enable_tasks().build()
    } else {
        ClientCapabilities::default()
    };
    ClientConfig::new(capabilities, Implementation::new("serve-test", "1.0"))
}

async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    client
        .peer()
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap()
}

fn structured(tool: &str, result: CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "{tool}: {:?}", result.content);
    result.structured_content.unwrap()
}

/// A workflows directory holding the seed marketing workflow.
fn workflows(files: &Files) -> String {
    let dir = files.path("workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        format!("{dir}/marketing.json"),
        consort_protocol::seeds::MARKETING_CAMPAIGN_WORKFLOW,
    )
    .unwrap();
    dir
}

fn marketing_name() -> String {
    let spec: Value =
        serde_json::from_str(consort_protocol::seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap();
    spec["workflow_name"].as_str().unwrap().to_owned()
}

/// A Redis for `test` (or a skip), found outside the test's runtime.
async fn redis(test: &'static str) -> Option<Redis> {
    tokio::task::spawn_blocking(move || Redis::or_skip(test))
        .await
        .unwrap()
}

/// Starts `consort serve --http 127.0.0.1:0 ARGS` and returns it with its
/// endpoint, read from the line it prints.
fn serve_http(args: &[&str], token: Option<&str>) -> (Running, String) {
    let mut cmd = command();
    cmd.args(["serve", "--http", "127.0.0.1:0"]).args(args);
    if let Some(token) = token {
        cmd.env("CONSORT_MCP_TOKEN", token);
    }
    let mut server = Running::spawn(&mut cmd);
    let line = server.wait_for(|l| l.starts_with("serving MCP at "));
    let url = line.trim_start_matches("serving MCP at ").to_owned();
    (server, url)
}

async fn http_client(url: &str, token: Option<&str>, tasks: bool) -> Client {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    client_config(tasks).serve(transport).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_serves_every_tool_to_a_child_process_client() {
    let files = Files::new();
    let dir = workflows(&files);
    let mut cmd = tokio::process::Command::from(command());
    cmd.args([
        "serve",
        "--stdio",
        "--simulate",
        "--experts",
        &files.path("registry.json"),
        "--workflows",
        &dir,
    ]);
    let client = client_config(false)
        .serve(TokioChildProcess::new(cmd).unwrap())
        .await
        .unwrap();
    let info = client.peer().peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "consort");

    let tools = client.peer().list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 17);
    assert!(tools.iter().all(|t| t.output_schema.is_some()));

    let decision = structured(
        "route",
        call(
            &client,
            "consort_route",
            json!({"request": "Review the NDA before we sign"}),
        )
        .await,
    );
    assert_eq!(decision["primary"], "legal_consultant");
    let listed = structured(
        "workflows",
        call(&client, "consort_workflows_list", json!({})).await,
    );
    assert_eq!(listed["workflows"][0]["name"], marketing_name().as_str());
    let run = structured(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"name": marketing_name(), "wait": true}),
        )
        .await,
    );
    assert_eq!(run["state"], "completed");

    let bad = call(&client, "consort_route", json!({"request": 3})).await;
    assert_eq!(bad.is_error, Some(true));
    let text = bad.content[0].as_text().unwrap().text.clone();
    assert!(text.starts_with("invalid arguments: request"), "{text}");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requires_the_bearer_token_and_refuses_runs_without_an_executor() {
    let files = Files::new();
    let (server, url) = serve_http(&["--experts", &files.path("registry.json")], Some("s3cret"));

    let status = raw_post_status(&url, None);
    assert_eq!(status, 401, "a request without the token");
    let status = raw_post_status(&url, Some("wrong"));
    assert_eq!(status, 401, "a request with the wrong token");

    // A call answered by one message comes back as plain JSON, not as an
    // SSE stream of one event.
    let (body, headers) = plain_call("consort_ping");
    let response = raw_post(&url, Some("s3cret"), &body, &headers);
    let (head, answer) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let answer: Value = serde_json::from_str(answer).unwrap();
    assert_eq!(
        answer["result"]["structuredContent"]["ok"], true,
        "{answer}"
    );

    let client = http_client(&url, Some("s3cret"), false).await;
    let pong = structured("ping", call(&client, "consort_ping", json!({})).await);
    assert_eq!(pong["ok"], true);
    let capabilities = structured(
        "capabilities",
        call(&client, "consort_capabilities", json!({})).await,
    );
    assert_eq!(capabilities["experts"], 8);
    assert_eq!(capabilities["runs_workflows"], false);
    let refused = call(
        &client,
        "consort_workflow_start",
        json!({"definition": serde_json::from_str::<Value>(consort_protocol::seeds::MARKETING_CAMPAIGN_WORKFLOW).unwrap()}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    assert!(
        refused.content[0]
            .as_text()
            .unwrap()
            .text
            .contains("--simulate")
    );
    client.cancel().await.unwrap();

    server.signal("TERM");
    let (code, _, stderr) = server.finish();
    assert_eq!(code, Some(143), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_started_over_mcp_call_the_deployed_experts() {
    let files = Files::new();
    let dir = workflows(&files);
    let journal = files.path("journal");
    let deploy = stdio_deployment(&files, &MARKETING_ROLES, &journal, &["--delay-ms", "200"]);
    let (server, url) = serve_http(
        &[
            "--experts",
            &files.path("registry.json"),
            "--workflows",
            &dir,
            "--deploy",
            &deploy,
        ],
        None,
    );
    let client = http_client(&url, None, false).await;
    let capabilities = structured(
        "capabilities",
        call(&client, "consort_capabilities", json!({})).await,
    );
    assert_eq!(capabilities["runs_workflows"], true);
    let run = structured(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"name": marketing_name(), "run_id": "s-1", "wait": true,
                   "params": {"proposed_budget": 150_000, "budget_limit": 100_000}}),
        )
        .await,
    );
    assert_eq!(run["state"], "completed", "{run}");
    assert_eq!(
        journal_calls(&journal, "s-1:2:check:0"),
        2,
        "finance checked twice"
    );
    // Every call gave its load slot back.
    let experts = structured(
        "experts",
        call(&client, "consort_experts_list", json!({})).await,
    );
    let loads: Vec<&Value> = experts["experts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["current_load"])
        .collect();
    assert!(loads.iter().all(|l| **l == json!(0)), "{loads:?}");
    // A call in flight holds a load slot of its expert, which routing sees.
    call(
        &client,
        "consort_workflow_start",
        json!({"name": marketing_name(), "run_id": "s-2"}),
    )
    .await;
    let mut busy = None;
    for _ in 0..100 {
        let experts = structured(
            "experts",
            call(&client, "consort_experts_list", json!({})).await,
        );
        busy = experts["experts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["current_load"] == json!(1))
            .map(|e| e["id"].clone());
        if busy.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(busy.is_some(), "no expert showed the call in flight");
    client.cancel().await.unwrap();
    server.signal("TERM");
    let (code, _, stderr) = server.finish();
    assert_eq!(code, Some(143), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_bad_definitions_are_reported() {
    let files = Files::new();
    let (server, url) = serve_http(&["--rate-limit", "2"], None);
    let client = http_client(&url, None, false).await;
    structured("ping", call(&client, "consort_ping", json!({})).await);
    structured("ping", call(&client, "consort_ping", json!({})).await);
    let limited = call(&client, "consort_ping", json!({})).await;
    assert_eq!(limited.is_error, Some(true));
    let text = limited.content[0].as_text().unwrap().text.clone();
    assert!(
        text.starts_with("rate limit: consort_ping allows 2 call(s) at once"),
        "{text}"
    );
    client.cancel().await.unwrap();
    server.signal("TERM");
    server.finish();

    // A definition naming an expert the registry lacks stops the server at
    // start, as bad input, naming the file and the JSON path.
    let dir = workflows(&files);
    let out = command()
        .args(["serve", "--stdio", "--workflows", &dir])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("marketing.json: workflow_steps[0].primary_expert"),
        "{stderr}"
    );
}

/// Stdin and stdout need not be pipes (the runtime polls pipes; anything
/// else goes through tokio's blocking streams): with requests from a file
/// and answers to a file, every request is answered, in order, and the
/// server ends at the input's end.
#[test]
fn stdio_serves_files_as_well_as_pipes() {
    let files = Files::new();
    let registry = files.path("registry.json");
    std::fs::write(&registry, consort_protocol::seeds::EXPERT_REGISTRY).unwrap();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "file", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "consort_route",
            "arguments": {"request": "Review the NDA before we sign the agency contract"}}}),
    ];
    let input = files.path("requests.jsonl");
    let lines: Vec<String> = requests.iter().map(Value::to_string).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = files.path("answers.jsonl");
    let status = command()
        .args(["serve", "--stdio", "--experts", &registry])
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&output).unwrap())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let answers: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[1]["id"], 2);
    assert_eq!(
        answers[1]["result"]["structuredContent"]["primary"], "legal_consultant",
        "{answers:?}"
    );
}

/// The HTTP status of a bare `initialize` POST to `url`.
fn raw_post_status(url: &str, token: Option<&str>) -> u16 {
    let response = raw_post(
        url,
        token,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        "",
    );
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

/// POSTs `body` to `url` with `headers` (each line ending in CRLF) and
/// returns the whole response.
fn raw_post(url: &str, token: Option<&str>, body: &str, headers: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let mut stream = TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n{auth}{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A 2026-07-28 `tools/call` of `tool` without arguments, with its headers.
fn plain_call(tool: &str) -> (String, String) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": {}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let headers = format!(
        "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: {tool}\r\n"
    );
    (body.to_string(), headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_outlives_its_server_and_servers_share_a_redis() {
    let Some(redis) = redis("a_task_outlives_its_server_and_servers_share_a_redis").await else {
        return;
    };
    let files = Files::new();
    let dir = workflows(&files);
    let registry = files.path("registry.json");
    let mut args = vec![
        "--simulate",
        "--delay-ms",
        "150",
        "--experts",
        &registry,
        "--workflows",
        &dir,
        "--lease-ttl",
        "2s",
    ];
    args.extend(redis.args());
    let (first, first_url) = serve_http(&args, None);
    let (second, second_url) = serve_http(&args, None);

    // Experts registered through one server are seen by the other.
    let one = http_client(&first_url, None, true).await;
    let two = http_client(&second_url, None, true).await;
    structured(
        "register",
        call(&one, "consort_expert_register", json!({"profile": {"id": "tax_advisor", "expertise_domains": ["tax"], "mcp_endpoint": "/mcp/experts/tax", "priority_level": "medium", "response_time_sla": "< 3 seconds"}})).await,
    );
    let listed = structured("list", call(&two, "consort_experts_list", json!({})).await);
    assert!(
        listed["experts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == "tax_advisor")
    );

    // A run started as a task through the first server...
    let response = one
        .peer()
        .call_tool_once(
            CallToolRequestParams::new("consort_workflow_start").with_arguments(
                json!({"name": marketing_name()})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    let CallToolResponse::Task(created) = response else {
        panic!("a client with tasks gets a task: {response:?}");
    };
    let task_id = created.task.task_id;
    tokio::time::sleep(Duration::from_millis(400)).await;
    // ...is watched through the second while the first still drives it...
    let status = structured(
        "status",
        call(&two, "consort_workflow_status", json!({"run_id": task_id})).await,
    );
    assert_eq!(status["state"], "running", "{status}");
    // ...and goes on through the second after the first is killed outright.
    one.cancel().await.ok();
    first.signal("KILL");
    first.finish();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let result = loop {
        let got = two
            .peer()
            .get_task(GetTaskParams::new(task_id.clone()))
            .await
            .unwrap();
        match got.task.payload {
            TaskPayload::Completed { result } => break result,
            TaskPayload::Working => {}
            other => panic!("unexpected task state {other:?}"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the task never completed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        result["structuredContent"]["state"], "completed",
        "{result:?}"
    );
    two.cancel().await.ok();
    second.signal("TERM");
    let (code, _, stderr) = second.finish();
    assert_eq!(code, Some(143), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_pauses_the_runs_in_flight_and_releases_their_leases() {
    let Some(redis) = redis("sigterm_pauses_the_runs_in_flight_and_releases_their_leases").await
    else {
        return;
    };
    let files = Files::new();
    let dir = workflows(&files);
    let registry = files.path("registry.json");
    let mut args = vec![
        "--simulate",
        "--delay-ms",
        "300",
        "--experts",
        &registry,
        "--workflows",
        &dir,
        "--shutdown-grace",
        "5s",
    ];
    args.extend(redis.args());
    let (server, url) = serve_http(&args, None);
    let client = http_client(&url, None, false).await;
    let started = structured(
        "start",
        call(
            &client,
            "consort_workflow_start",
            json!({"name": marketing_name(), "run_id": "term-1"}),
        )
        .await,
    );
    assert_eq!(started["run_id"], "term-1");
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.cancel().await.ok();
    server.signal("TERM");
    let (code, _, stderr) = server.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("pausing 1 run(s)"), "{stderr}");

    // The lease is released: another process resumes at once.
    let mut status = command();
    status
        .args(["workflow", "status", "term-1", "--json"])
        .args(redis.args());
    let out = status.output().unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "paused", "{status}");
    assert!(status.get("owner").is_none(), "{status}");
    let mut resume = command();
    resume
        .args(["workflow", "resume", "term-1", "--simulate", "--quiet"])
        .args(redis.args());
    let out = resume.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
