//! consort-mcp in process: what the MCP layer adds to routing one request.
//!
//! Ways to route the same request over the 8 seed experts, in one run:
//!
//! - `router`: `Router::route` directly;
//! - `coordinator`: `Coordinator::route` (the live registry, the liveness
//!   check of the chosen experts on the memory backend);
//! - `tool_over_channel`: the `consort_route` tool called by a real rmcp
//!   client over an in-process channel of typed JSON-RPC messages (rmcp's
//!   sink/stream transport): the MCP layer with no wire, as when a host
//!   embeds consort's tools and calls them in its own process;
//! - `tool_over_pipe`: the same over an in-memory byte pipe, adding JSON
//!   framing in both directions, as over stdio.
//!
//! The tool's figure minus `coordinator` is the MCP layer's cost; the target
//! is at most 20 µs. Three bare rmcp baselines share each transport's
//! floor: `echo_over_channel` and `echo_over_pipe` (one tool that returns
//! its input: what rmcp's client and server cost before consort does
//! anything), and `same_answer_over_pipe` (one tool that returns the
//! structured content `consort_route` answered, read from it once: what
//! rmcp costs to carry the decision's 0.9 KB, twice, structured and as
//! text). `tool_over_pipe` minus `same_answer_over_pipe` is the part of the
//! call that is consort's own work.
//!
//! `cargo bench -p consort-benches --bench mcp -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[path = "echo/mod.rs"]
mod echo;

use std::hint::black_box;
use std::sync::Arc;

use consort_coordinator::Coordinator;
use consort_mcp::{ConsortServer, ToolsConfig};
use consort_protocol::{load_registry, seeds};
use consort_router::{RouteRequest, Router, RouterConfig};
use consort_state::MemoryBackend;
use criterion::{Criterion, criterion_group, criterion_main};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;

use echo::Echo;

type Client = rmcp::service::RunningService<rmcp::RoleClient, ()>;

/// A client connected over an in-memory byte pipe to `server`.
async fn over_pipe<S: rmcp::ServerHandler>(server: S) -> Client {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let running = server.serve(server_io).await.unwrap();
        let _ = running.waiting().await;
    });
    ().serve(client_io).await.unwrap()
}

/// A client connected to `server` over two in-process channels of typed
/// JSON-RPC messages: nothing is encoded.
async fn over_channel<S: rmcp::ServerHandler>(server: S) -> Client {
    let (to_server, server_inbox) = futures_channel::mpsc::unbounded();
    let (to_client, client_inbox) = futures_channel::mpsc::unbounded();
    tokio::spawn(async move {
        let running = server.serve((to_client, server_inbox)).await.unwrap();
        let _ = running.waiting().await;
    });
    ().serve((to_server, client_inbox)).await.unwrap()
}

/// Calls `tool` with `arguments`; the call must succeed.
fn call(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    tool: &'static str,
    arguments: &rmcp::model::JsonObject,
) -> rmcp::model::CallToolResult {
    let params = CallToolRequestParams::new(tool).with_arguments(arguments.clone());
    let result = runtime.block_on(client.peer().call_tool(params)).unwrap();
    assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
    result
}

const REQUEST: &str = "Review the NDA and the budget before we sign the agency contract";

fn route(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let router = Router::new(&experts, RouterConfig::default()).unwrap();
    let request = RouteRequest::new(REQUEST);

    let coordinator = runtime.block_on(async {
        let backend = Arc::new(MemoryBackend::new("bench-mcp").unwrap());
        let coordinator = Coordinator::builder(backend).build().await.unwrap();
        for expert in &experts {
            coordinator.register_expert(expert).await.unwrap();
        }
        coordinator
    });
    let server = || ConsortServer::new(coordinator.clone(), ToolsConfig::default()).unwrap();
    let on_pipe = runtime.block_on(over_pipe(server()));
    let on_channel = runtime.block_on(over_channel(server()));
    let arguments = serde_json::json!({"request": REQUEST})
        .as_object()
        .unwrap()
        .clone();
    let answer = call(&runtime, &on_pipe, "consort_route", &arguments)
        .structured_content
        .unwrap();
    let echo_on_pipe = runtime.block_on(over_pipe(Echo::new(answer.clone())));
    let echo_on_channel = runtime.block_on(over_channel(Echo::new(answer)));

    let mut group = c.benchmark_group("mcp/route");
    group.bench_function("router", |b| {
        b.iter(|| black_box(router.route(black_box(&request))));
    });
    group.bench_function("coordinator", |b| {
        b.iter(|| {
            runtime
                .block_on(coordinator.route(black_box(&request)))
                .unwrap()
        });
    });
    let cases: [(&str, &Client, &'static str); 5] = [
        ("tool_over_channel", &on_channel, "consort_route"),
        ("echo_over_channel", &echo_on_channel, "echo"),
        ("tool_over_pipe", &on_pipe, "consort_route"),
        ("echo_over_pipe", &echo_on_pipe, "echo"),
        ("same_answer_over_pipe", &echo_on_pipe, "answer"),
    ];
    for (name, client, tool) in cases {
        group.bench_function(name, |b| {
            b.iter(|| call(&runtime, client, tool, &arguments));
        });
    }
    group.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
