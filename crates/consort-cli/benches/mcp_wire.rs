//! `consort serve` on the wire, against peers measured in the same run.
//!
//! - `wire/{stdio,http}/{sequential,32_in_flight}/…`: calls per second of
//!   `consort_route` (8 seed experts) against a bare rmcp server whose one
//!   tool echoes its input (this bench binary, re-executed), and, when
//!   `CONSORT_PYTHON` names a Python with `mcp` 2.x, the official Python
//!   SDK's server with the same echo tool. One rmcp client drives all; each
//!   server runs in its own process. The goal is consort at 90% or more of
//!   the bare rmcp server. A third peer, `rmcp_same_answer`, is the bare
//!   server answering every call with the structured content `consort_route`
//!   returned for the bench's request (read from consort once at start): it
//!   separates what the answer's size costs rmcp's client and server from
//!   what consort does per call. `consort serve --stdio` polls its stdin
//!   and stdout pipes from the runtime (`consort_mcp::stdio`), where the
//!   bare server uses rmcp's usual `tokio::io::stdin()`/`stdout()`;
//!   `CONSORT_BENCH_ECHO_PIPES=1` adds `rmcp_echo_pipes`, the bare echo over
//!   consort's transport, to tell the two apart. Over HTTP, `consort serve`
//!   answers a call whose reply is one message as plain JSON
//!   (`json_response`), where rmcp's default config sends an SSE stream of
//!   one event; `CONSORT_BENCH_ECHO_JSON=1` gives the bare servers the same
//!   setting.
//! - Paired rounds (printed after criterion's groups): `consort_route` and
//!   the bare echo served at once, one call at a time, alternating in 201
//!   rounds of 20 calls per transport; the median of the per-round ratios
//!   of calls per second and the ratio of totals. This machine's swings
//!   are as large as the differences criterion's back-to-back groups
//!   measure; pairing cancels most of them. `-- no_group_matches` runs only
//!   this part. `CONSORT_BENCH_PAIR_WITH=rmcp_same_answer` pairs consort
//!   with the bare server returning its answer instead: what consort's own
//!   work costs, apart from the answer's size. By default
//!   `consort_route` answers with the chosen experts' candidates;
//!   `CONSORT_BENCH_ROUTE_TOP=N` asks for the best N ranked instead
//!   (`5`: the whole ranking, as before the default changed).
//! - `cold_start/…`: from spawning the server over stdio to the first tool
//!   result (`consort serve --stdio` with the seed registry; the goal is
//!   under 20 ms).
//!
//! `cargo bench -p consort-cli --bench mcp_wire -- --warm-up-time 1 --measurement-time 3`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark setup fails loudly"
)]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::print_stderr,
    reason = "the echo server announces its address as consort serve does"
)]
#![allow(clippy::print_stdout, reason = "the paired rounds print their ratios")]

#[path = "../../../benches/echo/mod.rs"]
mod echo;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use futures_util::future::join_all;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::json;

use echo::Echo;

const REQUEST: &str = "Review the NDA and the budget before we sign the agency contract";
const IN_FLIGHT: usize = 32;

/// Serves the echo server as this process was asked to, if it was.
fn serve_echo_if_asked() -> bool {
    let Ok(how) = std::env::var("CONSORT_BENCH_ECHO") else {
        return false;
    };
    // Read once: the HTTP service clones the server for every request, as
    // `consort serve` does.
    let answer = std::env::var("CONSORT_BENCH_ANSWER").map_or(serde_json::Value::Null, |json| {
        serde_json::from_str(&json).unwrap()
    });
    let echo = Echo::new(answer);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if how == "stdio" {
            let running = echo
                .serve((tokio::io::stdin(), tokio::io::stdout()))
                .await
                .unwrap();
            let _ = running.waiting().await;
        } else if how == "stdio-pipes" {
            let running = echo.serve(consort_mcp::stdio()).await.unwrap();
            let _ = running.waiting().await;
        } else {
            use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
            use rmcp::transport::streamable_http_server::{
                StreamableHttpServerConfig, StreamableHttpService,
            };
            let service = StreamableHttpService::new(
                move || Ok(echo.clone()),
                std::sync::Arc::new(LocalSessionManager::default()),
                StreamableHttpServerConfig::default()
                    .with_json_response(std::env::var_os("CONSORT_BENCH_ECHO_JSON").is_some()),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            eprintln!(
                "serving MCP at http://{}/mcp",
                listener.local_addr().unwrap()
            );
            let app = axum::Router::new().route_service("/mcp", service);
            axum::serve(listener, app).await.unwrap();
        }
    });
    true
}

/// A server under test, and how to reach it.
struct Peer {
    name: &'static str,
    tool: &'static str,
    stdio: Command,
    http: Command,
}

fn registry() -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "consort-bench-registry-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, consort_protocol::seeds::EXPERT_REGISTRY).unwrap();
    path
}

fn peers(registry: &PathBuf) -> Vec<Peer> {
    let consort = env!("CARGO_BIN_EXE_consort");
    let serve = |transport: &[&str]| {
        let mut cmd = Command::new(consort);
        cmd.arg("serve")
            .args(transport)
            .arg("--experts")
            .arg(registry);
        cmd
    };
    let echo = |how: &str| {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env("CONSORT_BENCH_ECHO", how);
        cmd
    };
    let mut peers = vec![
        Peer {
            name: "consort_route",
            tool: "consort_route",
            stdio: serve(&["--stdio"]),
            http: serve(&["--http", "127.0.0.1:0"]),
        },
        Peer {
            name: "rmcp_echo",
            tool: "echo",
            stdio: echo("stdio"),
            http: echo("http"),
        },
    ];
    let answer = consort_answer(&peers[0].stdio).to_string();
    let mut stdio = echo("stdio");
    let mut http = echo("http");
    stdio.env("CONSORT_BENCH_ANSWER", &answer);
    http.env("CONSORT_BENCH_ANSWER", &answer);
    peers.push(Peer {
        name: "rmcp_same_answer",
        tool: "answer",
        stdio,
        http,
    });
    if std::env::var_os("CONSORT_BENCH_ECHO_PIPES").is_some() {
        // The bare echo over the stdio transport `consort serve` uses (the
        // runtime polls the pipes), to tell the transport's gain from
        // consort's own cost; HTTP as before.
        peers.push(Peer {
            name: "rmcp_echo_pipes",
            tool: "echo",
            stdio: echo("stdio-pipes"),
            http: echo("http"),
        });
    }
    if let Some(python) = std::env::var_os("CONSORT_PYTHON") {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/python_echo_server.py"
        );
        let port = free_port().to_string();
        let mut stdio = Command::new(&python);
        stdio.args([script, "stdio"]);
        let mut http = Command::new(&python);
        http.args([script, "http", &port]);
        peers.push(Peer {
            name: "python_echo",
            tool: "echo",
            stdio,
            http,
        });
    }
    peers
}

/// The structured content `consort_route` answers the bench's request with.
fn consort_answer(serve: &Command) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client =
            ().serve(TokioChildProcess::new(tokio::process::Command::from(clone(serve))).unwrap())
                .await
                .unwrap();
        let result = client
            .peer()
            .call_tool(CallToolRequestParams::new("consort_route").with_arguments(arguments()))
            .await
            .unwrap();
        client.cancel().await.ok();
        result
            .structured_content
            .expect("consort_route answers with structured content")
    })
}

/// The bench's call; `CONSORT_BENCH_ROUTE_TOP=N` asks `consort_route` for
/// its best N ranked candidates (every server gets the same arguments).
/// Built once: each call only clones it, as rmcp takes the arguments owned.
static ARGUMENTS: LazyLock<rmcp::model::JsonObject> = LazyLock::new(|| {
    let mut arguments = json!({"request": REQUEST});
    if let Ok(top) = std::env::var("CONSORT_BENCH_ROUTE_TOP") {
        arguments["top"] = json!(top.parse::<usize>().unwrap());
    }
    arguments.as_object().unwrap().clone()
});

fn arguments() -> rmcp::model::JsonObject {
    ARGUMENTS.clone()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

type Client = RunningService<RoleClient, ()>;

/// Starts `command` as an HTTP server and returns it with its endpoint, read
/// from the line it prints on stderr.
fn start_http(command: &mut Command) -> (Child, String) {
    let mut child = command
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server announces its address")
            .unwrap();
        if let Some(url) = line.strip_prefix("serving MCP at ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
    // The Python server prints its address before it listens.
    let authority = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&authority).is_err() {
        assert!(Instant::now() < deadline, "{url} never accepted");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, url)
}

async fn call(client: &Client, tool: &'static str) {
    let result = client
        .peer()
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments()))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
}

fn bench_client(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    transport: &str,
    peer: &str,
    tool: &'static str,
    client: &Client,
) {
    let mut group = c.benchmark_group(format!("wire/{transport}"));
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("sequential", peer), |b| {
        b.iter(|| runtime.block_on(call(client, tool)));
    });
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    group.bench_function(BenchmarkId::new("32_in_flight", peer), |b| {
        b.iter(|| runtime.block_on(join_all((0..IN_FLIGHT).map(|_| call(client, tool)))));
    });
    group.finish();
}

fn wire(c: &mut Criterion, runtime: &tokio::runtime::Runtime, peers: &mut [Peer]) {
    for peer in peers.iter_mut() {
        let client = runtime.block_on(async {
            ().serve(
                TokioChildProcess::new(tokio::process::Command::from(clone(&peer.stdio))).unwrap(),
            )
            .await
            .unwrap()
        });
        bench_client(c, runtime, "stdio", peer.name, peer.tool, &client);
        runtime.block_on(client.cancel()).ok();

        let (mut child, url) = start_http(&mut peer.http);
        let client = runtime.block_on(async {
            ().serve(StreamableHttpClientTransport::from_uri(url))
                .await
                .unwrap()
        });
        bench_client(c, runtime, "http", peer.name, peer.tool, &client);
        runtime.block_on(client.cancel()).ok();
        child.kill().ok();
        child.wait().ok();
    }
}

/// A copy of `command` (program, arguments, environment).
fn clone(command: &Command) -> Command {
    let mut copy = Command::new(command.get_program());
    copy.args(command.get_args());
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            copy.env(key, value);
        }
    }
    copy
}

fn cold_start(c: &mut Criterion, runtime: &tokio::runtime::Runtime, peers: &[Peer]) {
    let mut group = c.benchmark_group("cold_start");
    group.sample_size(20);
    for peer in peers {
        group.bench_function(BenchmarkId::new("stdio_first_result", peer.name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    runtime.block_on(async {
                        let transport = TokioChildProcess::new(tokio::process::Command::from(
                            clone(&peer.stdio),
                        ))
                        .unwrap();
                        let client = ().serve(transport).await.unwrap();
                        call(&client, peer.tool).await;
                        total += started.elapsed();
                        client.cancel().await.ok();
                    });
                }
                total
            });
        });
    }
    group.finish();
}

/// Calls `tool` `PAIRED_CALLS` times, one at a time, and returns how long it took.
async fn timed_calls(client: &Client, tool: &'static str) -> Duration {
    let started = Instant::now();
    for _ in 0..PAIRED_CALLS {
        call(client, tool).await;
    }
    started.elapsed()
}

/// Sequential calls per paired round.
const PAIRED_CALLS: u32 = 20;
/// Paired rounds per transport.
const PAIRED_ROUNDS: usize = 201;

/// Paired rounds, one call at a time: `consort_route` and the bare echo
/// (or the peer `CONSORT_BENCH_PAIR_WITH` names, such as `rmcp_same_answer`),
/// both served at once, alternate in rounds of `PAIRED_CALLS` calls (which
/// goes first alternates too), so the machine's swings hit both alike.
/// Prints the median of the per-round ratios of calls per second and the
/// ratio of totals, per transport.
fn paired(runtime: &tokio::runtime::Runtime, peers: &mut [Peer]) {
    let against = std::env::var("CONSORT_BENCH_PAIR_WITH").unwrap_or_else(|_| "rmcp_echo".into());
    let Some((consort, others)) = peers.split_first_mut() else {
        return;
    };
    let echo = others
        .iter_mut()
        .find(|peer| peer.name == against)
        .unwrap_or_else(|| panic!("CONSORT_BENCH_PAIR_WITH: no peer named {against}"));
    let (mut consort_http, consort_url) = start_http(&mut consort.http);
    let (mut echo_http, echo_url) = start_http(&mut echo.http);
    let connect = |command: &Command| {
        runtime.block_on(async {
            ().serve(TokioChildProcess::new(tokio::process::Command::from(clone(command))).unwrap())
                .await
                .unwrap()
        })
    };
    let over_http = |url: &str| {
        runtime.block_on(async {
            ().serve(StreamableHttpClientTransport::from_uri(url.to_owned()))
                .await
                .unwrap()
        })
    };
    let transports = [
        ("stdio", connect(&consort.stdio), connect(&echo.stdio)),
        ("http", over_http(&consort_url), over_http(&echo_url)),
    ];
    for (transport, consort_client, echo_client) in &transports {
        let mut ratios = Vec::with_capacity(PAIRED_ROUNDS);
        let (mut consort_total, mut echo_total) = (Duration::ZERO, Duration::ZERO);
        for round in 0..PAIRED_ROUNDS {
            let consort_side = || runtime.block_on(timed_calls(consort_client, consort.tool));
            let echo_side = || runtime.block_on(timed_calls(echo_client, echo.tool));
            let (consort_time, echo_time) = if round % 2 == 0 {
                (consort_side(), echo_side())
            } else {
                let echo_time = echo_side();
                (consort_side(), echo_time)
            };
            consort_total += consort_time;
            echo_total += echo_time;
            // Calls per second of consort over those of the echo.
            ratios.push(echo_time.as_secs_f64() / consort_time.as_secs_f64());
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "paired {PAIRED_ROUNDS} rounds of {PAIRED_CALLS} calls one at a time over {transport}, \
             consort_route / {}, calls per second: median {:.3} (min {:.3}, max {:.3}); \
             totals {:.3}",
            echo.name,
            ratios[PAIRED_ROUNDS / 2],
            ratios[0],
            ratios[PAIRED_ROUNDS - 1],
            echo_total.as_secs_f64() / consort_total.as_secs_f64()
        );
    }
    for (_, consort_client, echo_client) in transports {
        runtime.block_on(consort_client.cancel()).ok();
        runtime.block_on(echo_client.cancel()).ok();
    }
    for child in [&mut consort_http, &mut echo_http] {
        child.kill().ok();
        child.wait().ok();
    }
}

fn main() {
    if serve_echo_if_asked() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let registry = registry();
    let mut peers = peers(&registry);
    let mut c = Criterion::default().configure_from_args();
    wire(&mut c, &runtime, &mut peers);
    cold_start(&mut c, &runtime, &peers);
    c.final_summary();
    paired(&runtime, &mut peers);
    std::fs::remove_file(registry).ok();
}
