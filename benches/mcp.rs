//! consort-mcp in process: what the MCP layer adds to routing one request.
//!
//! Three ways to route the same request over the 8 seed experts, in one
//! run: `Router::route` directly; `Coordinator::route` (the live registry,
//! the liveness check of the chosen experts on the memory backend); and the
//! `consort_route` tool called by a real rmcp client over an in-memory pipe
//! (JSON-RPC framing, strict argument parsing, structured output, both
//! directions of serialisation). The last minus the second is the MCP
//! layer's cost; the target is at most 20 µs. `echo_over_pipe` is a bare rmcp
//! server whose one tool returns its input, over the same pipe: what rmcp's
//! client and server cost before consort does anything.
//!
//! `cargo bench -p consort-benches --bench mcp -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

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

/// A bare rmcp server: one tool that returns its input.
#[derive(Clone)]
struct Echo {
    tool_router: rmcp::handler::server::tool::ToolRouter<Echo>,
}

#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
struct EchoArgs {
    /// Returned as given.
    request: String,
}

#[rmcp::tool_router]
impl Echo {
    #[rmcp::tool(description = "Return the input.")]
    fn echo(
        &self,
        rmcp::handler::server::wrapper::Parameters(args): rmcp::handler::server::wrapper::Parameters<EchoArgs>,
    ) -> rmcp::Json<EchoArgs> {
        rmcp::Json(args)
    }
}

#[rmcp::tool_handler(router = self.tool_router)]
impl rmcp::ServerHandler for Echo {}

/// A client connected over an in-memory pipe to `server`.
async fn over_pipe<S: rmcp::ServerHandler>(
    server: S,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let running = server.serve(server_io).await.unwrap();
        let _ = running.waiting().await;
    });
    ().serve(client_io).await.unwrap()
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
    let client = runtime.block_on(over_pipe(
        ConsortServer::new(coordinator.clone(), ToolsConfig::default()).unwrap(),
    ));
    let echo = runtime.block_on(over_pipe(Echo {
        tool_router: Echo::tool_router(),
    }));
    let arguments = serde_json::json!({"request": REQUEST})
        .as_object()
        .unwrap()
        .clone();

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
    group.bench_function("tool_over_pipe", |b| {
        b.iter(|| {
            let params =
                CallToolRequestParams::new("consort_route").with_arguments(arguments.clone());
            let result = runtime.block_on(client.peer().call_tool(params)).unwrap();
            assert_ne!(result.is_error, Some(true));
            result
        });
    });
    group.bench_function("echo_over_pipe", |b| {
        b.iter(|| {
            let params = CallToolRequestParams::new("echo").with_arguments(arguments.clone());
            runtime.block_on(echo.peer().call_tool(params)).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
