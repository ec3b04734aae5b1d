//! Workflow steps through `McpExecutor` to local stdio experts, against bare
//! rmcp `call_tool` calls of the same tool with the same arguments, in
//! paired rounds (criterion groups).
//!
//! The experts are this bench binary started again with
//! `CONSORT_BENCH_EXPERT=ROLE`, serving the examples' rule-based `consult`
//! tool (`examples/expert/mod.rs`) over stdio.
//!
//! - `mcp_expert_chain`: a 20-step chain on one expert, per iteration, vs 20
//!   sequential bare calls: the executor's and the engine's overhead per
//!   step.
//! - `mcp_expert_fanout`: a kickoff step, then 100 parallel steps across
//!   five experts with `max_in_flight` 4, vs 1 + 100 bare calls with the
//!   same limits.
//!
//! ```sh
//! cargo bench -p consort-benches --bench mcp_experts
//! ```
//!
//! `CONSORT_BENCH_COUNT=bare:N` or `executor:N` runs only N chains of one
//! side, for instruction counts under callgrind (docs/performance.md):
//! count 1 and 11 chains and divide the difference by 200, so that one-time
//! costs (the first run encodes the definition) fall on both counts. It then
//! prints the CPU time each of this process's threads used (Linux), for the
//! same comparison natively.
//!
//! `CONSORT_BENCH_CHAIN_STEPS=N` makes the chain (and the bare side's
//! calls) N steps long instead of 20: counts of two lengths separate what
//! a run costs once (its records, lease and status) from what each further
//! step costs.
//!
//! `CONSORT_BENCH_PRIOR_RUNS=N` drives N chains before the paired rounds,
//! so that they measure an engine whose backend holds N finished runs;
//! `CONSORT_BENCH_RETENTION_S=S` keeps finished runs S seconds
//! (`EngineConfig::retention`).
//!
//! `CONSORT_BENCH_EPHEMERAL=1` runs the workflows with
//! `Durability::None`: no step records, no lease. What is left of the
//! overhead is the engine's scheduling and the executor.
//!
//! Nobody watches the runs by default, so the engine builds no events (the
//! memory backend knows no one subscribed). `CONSORT_BENCH_WATCHED=1` holds
//! a `workflow:*` subscription open for the whole bench, so that every
//! event is built, encoded and published as when a client watches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../examples/expert/mod.rs"]
#[allow(dead_code, unreachable_pub, reason = "the bench serves stdio only")]
mod expert;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use consort_mcp::experts::{Deployment, ExpertServer, IDEMPOTENCY_META_KEY, McpExecutor};
use consort_protocol::load_workflow;
use consort_state::{MemoryBackend, StateBackend};
use consort_workflow::{Durability, Engine, EngineConfig, RunState, WorkflowGraph};
use criterion::{BatchSize, Criterion};
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientRequest, RequestMetaObject, ServerResult,
};
use rmcp::service::{PeerRequestOptions, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const ROLES: [&str; 5] = [
    "personal_assistant",
    "marketing_sales",
    "finance_accountant",
    "art_design",
    "project_management",
];
/// The chain's steps, unless `CONSORT_BENCH_CHAIN_STEPS` says otherwise.
const CHAIN: u32 = 20;
/// The parallel steps after the fan-out's kickoff step.
const FANOUT: u32 = 100;
const MAX_IN_FLIGHT: u32 = 4;

fn expert_command(role: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
    cmd.env("CONSORT_BENCH_EXPERT", role);
    cmd
}

fn deployment() -> Deployment {
    let me = std::env::current_exe().unwrap().display().to_string();
    ROLES.iter().fold(Deployment::new(), |d, role| {
        // The role reaches the child through its environment, which a
        // deployment's `env` sets.
        let server = ExpertServer::stdio(&me).with_max_in_flight(MAX_IN_FLIGHT);
        d.with_expert(*role, with_env(server, role))
    })
}

fn with_env(server: ExpertServer, role: &str) -> ExpertServer {
    let mut server = server;
    if let consort_mcp::experts::Transport::Stdio { env, .. } = &mut server.transport {
        env.insert("CONSORT_BENCH_EXPERT".into(), role.into());
    }
    server
}

/// The arguments McpExecutor sends for step `n` of a run with no params,
/// with the answer of the step it depends on, if any, among its inputs.
fn consult_arguments(
    run: &str,
    n: u32,
    dependency: Option<(u32, &Value)>,
) -> serde_json::Map<String, Value> {
    let mut inputs = json!({"params": {}});
    if let Some((number, answer)) = dependency {
        inputs[format!("step_{number}")] = answer.clone();
    }
    let Value::Object(map) = json!({
        "run_id": run, "attempt": 1, "kind": "execute",
        "step": {"number": n, "name": format!("Step {n}"), "actions": [], "outputs": ["result"]},
        "collaborators": [], "inputs": inputs, "validation": null,
    }) else {
        unreachable!()
    };
    map
}

/// Calls step `n` as McpExecutor would and returns the expert's answer.
async fn bare_call(
    client: &RunningService<RoleClient, ()>,
    run: &str,
    n: u32,
    dependency: Option<(u32, &Value)>,
) -> Value {
    let params =
        CallToolRequestParams::new("consult").with_arguments(consult_arguments(run, n, dependency));
    let mut meta = RequestMetaObject::new();
    meta.insert(IDEMPOTENCY_META_KEY.to_owned(), format!("{run}:{n}").into());
    let handle = client
        .peer()
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::with_timeout(Duration::from_secs(30)).with_meta(meta),
        )
        .await
        .unwrap();
    match handle.await_response().await.unwrap() {
        ServerResult::CallToolResult(result) => result.structured_content.unwrap(),
        other => panic!("not a tool result: {other:?}"),
    }
}

/// The chain's worth of sequential bare calls on one connection, each
/// given the answer before it, as the workflow's steps are.
async fn bare_chain(client: Arc<RunningService<RoleClient, ()>>, run: &'static str, steps: u32) {
    let mut previous = bare_call(&client, run, 1, None).await;
    for n in 2..=steps {
        previous = bare_call(&client, run, n, Some((n - 1, &previous))).await;
    }
}

/// Runs `work` as a task on the runtime's worker thread, where the rmcp
/// clients' own tasks run. Both sides go through it: `block_on` alone would
/// drive the work on the bench's own thread, so that every call's answer
/// would cross threads (a wake-up of a parked thread, tens of microseconds
/// on this VM) to reach it.
async fn on_worker<F>(work: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(work).await.unwrap()
}

/// How the runs are kept, read once rather than on every timed run.
static DURABILITY: LazyLock<Durability> = LazyLock::new(|| {
    if std::env::var_os("CONSORT_BENCH_EPHEMERAL").is_some() {
        Durability::None
    } else {
        Durability::Steps
    }
});

/// One run of `graph`, which must complete, driven as a task on the
/// runtime's worker thread (see [`on_worker`]), as a server drives runs it
/// starts.
async fn run_graph(engine: &Engine, graph: &Arc<WorkflowGraph>, run_id: String) {
    let (engine, graph) = (engine.clone(), Arc::clone(graph));
    let durability = *DURABILITY;
    let status = on_worker(async move {
        engine
            .new_run(&graph)
            .with_run_id(run_id)
            .with_settings(|settings| settings.with_durability(durability))
            .run_to_end()
            .await
    })
    .await;
    assert_eq!(status.unwrap().state, RunState::Completed);
}

/// The CPU time each thread of this process has used, from Linux's
/// `/proc/self/task/*/stat` (in clock ticks, usually 10 ms): natively, what
/// a count of chains costs the client side, without callgrind's view of it.
fn print_thread_times() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks {
        let stat = std::fs::read_to_string(task.unwrap().path().join("stat")).unwrap();
        // `pid (comm) state ...`: the name may hold spaces, the fields do not.
        let (name, fields) = stat.split_once(" (").unwrap().1.rsplit_once(") ").unwrap();
        let fields: Vec<&str> = fields.split_whitespace().collect();
        println!(
            "thread {name}: user {} ticks, system {} ticks",
            fields[11], fields[12]
        );
    }
}

/// `steps` steps on `experts` in turn: a chain, or a kickoff step (1)
/// that all others follow in parallel (without any edge a workflow is
/// chained by step number).
fn workflow(steps: u32, chained: bool, experts: &[&str]) -> WorkflowGraph {
    let steps: Vec<Value> = (1..=steps)
        .map(|n| {
            let deps: Vec<u32> = match (chained, n) {
                (_, 1) => vec![],
                (true, n) => vec![n - 1],
                (false, _) => vec![1],
            };
            json!({"step": n, "name": format!("Step {n}"),
                   "primary_expert": experts[(n as usize) % experts.len()],
                   "outputs": ["result"], "depends_on": deps})
        })
        .collect();
    let text = json!({"workflow_name": "bench", "workflow_steps": steps}).to_string();
    WorkflowGraph::build(&load_workflow(&text).unwrap()).unwrap()
}

fn main() {
    if let Ok(role) = std::env::var("CONSORT_BENCH_EXPERT") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (options, serve) = expert::parse_args(["--role".to_owned(), role]).unwrap();
        runtime.block_on(expert::serve(options, serve)).unwrap();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let executor = Arc::new(McpExecutor::new(&deployment()));
    // Made before the runtime, as a synchronous `main` would: the backend
    // starts its sweep from the first expiring write (a run's lease).
    let backend = Arc::new(MemoryBackend::new("bench").unwrap());
    // Never read: only its existence matters (see the module docs).
    let _watching = std::env::var_os("CONSORT_BENCH_WATCHED")
        .map(|_| runtime.block_on(backend.subscribe("workflow:*")).unwrap());
    let mut config = EngineConfig::default().with_concurrency(FANOUT as usize);
    if let Ok(seconds) = std::env::var("CONSORT_BENCH_RETENTION_S") {
        config = config.with_retention(Duration::from_secs(seconds.parse().unwrap()));
    }
    let engine = Engine::new(
        Arc::clone(&backend) as _,
        Arc::clone(&executor) as _,
        config,
    )
    .unwrap();
    let bare: Vec<Arc<RunningService<RoleClient, ()>>> = runtime.block_on(async {
        let mut clients = Vec::new();
        for role in ROLES {
            let transport = TokioChildProcess::new(expert_command(role)).unwrap();
            clients.push(Arc::new(().serve(transport).await.unwrap()));
        }
        // Connected and warm: the first call starts each expert.
        for check in executor.check().await {
            assert!(check.problem.is_none(), "{check:?}");
        }
        clients
    });
    let steps = std::env::var("CONSORT_BENCH_CHAIN_STEPS").map_or(CHAIN, |n| n.parse().unwrap());
    let chain = Arc::new(workflow(steps, true, &["marketing_sales"]));
    let fanout = Arc::new(workflow(FANOUT + 1, false, &ROLES));
    if let Ok(count) = std::env::var("CONSORT_BENCH_COUNT") {
        // For callgrind: only `bare:N` or `executor:N` chains, no criterion,
        // so that instruction counts of N and of 0 chains give the cost of
        // one step or call (the experts run natively, untraced).
        let (mode, n) = count
            .split_once(':')
            .expect("CONSORT_BENCH_COUNT=bare:N|executor:N");
        let n: u32 = n.parse().unwrap();
        runtime.block_on(async {
            for round in 0..n {
                if mode == "bare" {
                    on_worker(bare_chain(Arc::clone(&bare[1]), "count", steps)).await;
                } else {
                    run_graph(&engine, &chain, format!("count-{round}")).await;
                }
            }
            executor.close().await;
        });
        print_thread_times();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut runs = 0u64;

    let mut group = c.benchmark_group("mcp_expert_chain");
    group.sample_size(30);
    group.bench_function(format!("bare_call_tool_x{steps}"), |b| {
        b.iter(|| runtime.block_on(on_worker(bare_chain(Arc::clone(&bare[1]), "bare", steps))));
    });
    group.bench_function(format!("mcp_executor_steps_x{steps}"), |b| {
        b.iter_batched(
            || {
                runs += 1;
                format!("chain-{runs}")
            },
            |run_id| runtime.block_on(run_graph(&engine, &chain, run_id)),
            BatchSize::SmallInput,
        );
    });
    group.finish();

    let mut group = c.benchmark_group("mcp_expert_fanout");
    group.sample_size(20);
    group.bench_function("bare_call_tool_1_then_100", |b| {
        let limits: Vec<Arc<Semaphore>> = ROLES
            .iter()
            .map(|_| Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize)))
            .collect();
        b.iter(|| {
            let (bare, limits) = (bare.clone(), limits.clone());
            runtime.block_on(on_worker(async move {
                let kickoff = bare_call(&bare[1], "fan", 1, None).await;
                let calls = (2..=FANOUT + 1).map(|n| {
                    let at = (n as usize) % ROLES.len();
                    let (client, limit, kickoff) = (&bare[at], &limits[at], &kickoff);
                    async move {
                        let _permit = limit.acquire().await.unwrap();
                        bare_call(client, "fan", n, Some((1, kickoff))).await;
                    }
                });
                futures_util::future::join_all(calls).await;
            }));
        });
    });
    group.bench_function("mcp_executor_steps_1_then_100", |b| {
        b.iter_batched(
            || {
                runs += 1;
                format!("fan-{runs}")
            },
            |run_id| runtime.block_on(run_graph(&engine, &fanout, run_id)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    c.final_summary();

    if let Ok(prior) = std::env::var("CONSORT_BENCH_PRIOR_RUNS") {
        let prior: u32 = prior.parse().unwrap();
        runtime.block_on(async {
            for round in 0..prior {
                run_graph(&engine, &chain, format!("prior-{round}")).await;
            }
        });
        println!("{prior} prior runs of the chain");
    }
    // Paired rounds: the two sides alternate, so the machine's swings hit
    // both alike; the median of the per-round ratios is the figure.
    let rounds = 201;
    let mut ratios = Vec::with_capacity(rounds);
    let (mut bare_total, mut executor_total) = (Duration::ZERO, Duration::ZERO);
    for round in 0..rounds {
        let bare_side = || {
            let started = Instant::now();
            runtime.block_on(on_worker(bare_chain(Arc::clone(&bare[1]), "paired", steps)));
            started.elapsed()
        };
        let executor_side = || {
            let started = Instant::now();
            runtime.block_on(run_graph(&engine, &chain, format!("paired-{round}")));
            started.elapsed()
        };
        // Which side goes first alternates too, so that neither always
        // follows the other's wake-ups.
        let (bare_time, executor_time) = if round % 2 == 0 {
            (bare_side(), executor_side())
        } else {
            let executor_time = executor_side();
            (bare_side(), executor_time)
        };
        bare_total += bare_time;
        executor_total += executor_time;
        ratios.push(executor_time.as_secs_f64() / bare_time.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "paired {rounds} rounds of a {steps}-step chain, McpExecutor / bare call_tool: \
         median {:.3} (min {:.3}, max {:.3}); total time {:.3}",
        ratios[rounds / 2],
        ratios[0],
        ratios[rounds - 1],
        executor_total.as_secs_f64() / bare_total.as_secs_f64()
    );
    runtime.block_on(executor.close());
}
