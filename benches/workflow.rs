//! consort-workflow: engine overhead per step with a no-op executor.
//!
//! - 10,000-step chain and 10,000-way fan-out on the memory backend, without
//!   checkpoints (`Durability::None`) and with them (`Durability::Steps`);
//! - 1,000-way fan-out with Redis checkpoints;
//! - Redis round trips per sequential step (`consort_state::Instrumented`'s
//!   counters on a 1,000-step chain), printed after the criterion groups.
//!
//! `cargo bench -p consort-benches --bench workflow`. Redis comes from
//! `CONSORT_REDIS_URL`, else a private `redis-server` from PATH; without
//! either the Redis parts are skipped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use consort_state::testkit::{RedisServer, random_namespace, redis_server_available};
use consort_state::{
    Instrumented, MemoryBackend, RedisBackend, RedisConfig, StateBackend, StateOp,
};
use consort_workflow::{Durability, Engine, EngineConfig, RunState, WorkflowGraph};
use criterion::{Criterion, Throughput, criterion_group};

#[path = "workflow_shapes.rs"]
mod shapes;
use shapes::{NoOp, build, chain, config, fan_out};

/// Times one run per iteration on a fresh backend (made outside the timing).
fn run_iters(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    graph: &WorkflowGraph,
    make_backend: &dyn Fn() -> Arc<dyn StateBackend>,
    config: &EngineConfig,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let engine = Engine::new(make_backend(), Arc::new(NoOp), config.clone()).unwrap();
        let start = Instant::now();
        let status = rt.block_on(engine.new_run(graph).run_to_end()).unwrap();
        total += start.elapsed();
        assert_eq!(status.state, RunState::Completed);
    }
    total
}

fn memory(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("workflow_memory");
    g.sample_size(10);
    let memory = || -> Arc<dyn StateBackend> { Arc::new(MemoryBackend::new("bench").unwrap()) };
    for (shape, spec, steps) in [
        ("chain_10k", chain(10_000), 10_000),
        ("fan_out_10k", fan_out(10_000), 10_001),
    ] {
        let graph = build(&spec);
        g.throughput(Throughput::Elements(steps));
        for (mode, durability) in [
            ("no_checkpoints", Durability::None),
            ("checkpoints", Durability::Steps),
        ] {
            let cfg = config(durability, 10_001);
            g.bench_function(format!("{shape}/{mode}"), |b| {
                b.iter_custom(|iters| run_iters(&rt, iters, &graph, &memory, &cfg));
            });
        }
    }
    // One-off setup, reported apart so that the per-step cost of a run is
    // visible: `WorkflowGraph::build` validates and lays out the graph like a
    // run does, and also copies the definition, which a run does not (an
    // upper bound of a run's setup).
    for (shape, spec) in [
        ("chain_10k", chain(10_000)),
        ("fan_out_10k", fan_out(10_000)),
    ] {
        g.throughput(Throughput::Elements(10_000));
        g.bench_function(format!("{shape}/graph_build_only"), |b| {
            b.iter(|| build(&spec));
        });
    }
    // Events on: what publishing progress costs on the memory bus.
    let graph = build(&chain(10_000));
    let cfg = config(Durability::Steps, 16).with_publish_events(true);
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("chain_10k/checkpoints_and_events", |b| {
        b.iter_custom(|iters| run_iters(&rt, iters, &graph, &memory, &cfg));
    });
    g.finish();
}

struct Target {
    url: String,
    _server: Option<RedisServer>,
}

fn redis_target() -> Option<Target> {
    if let Ok(url) = std::env::var("CONSORT_REDIS_URL") {
        return Some(Target { url, _server: None });
    }
    if !redis_server_available() {
        eprintln!(
            "SKIP redis workflow benches: no redis-server on PATH and CONSORT_REDIS_URL unset"
        );
        return None;
    }
    let server = RedisServer::start();
    Some(Target {
        url: server.url(),
        _server: Some(server),
    })
}

async fn redis_backend(url: &str) -> RedisBackend {
    RedisBackend::connect(RedisConfig::new(url, random_namespace("wfbench")))
        .await
        .unwrap()
}

fn redis(c: &mut Criterion) {
    let Some(target) = redis_target() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend: Arc<dyn StateBackend> = Arc::new(rt.block_on(redis_backend(&target.url)));
    let mut g = c.benchmark_group("workflow_redis");
    g.sample_size(10);
    let graph = build(&fan_out(1_000));
    let cfg = config(Durability::Steps, 1_001);
    g.throughput(Throughput::Elements(1_001));
    let shared = || Arc::clone(&backend);
    g.bench_function("fan_out_1k/checkpoints", |b| {
        b.iter_custom(|iters| run_iters(&rt, iters, &graph, &shared, &cfg));
    });
    let graph = build(&chain(200));
    g.throughput(Throughput::Elements(200));
    g.bench_function("chain_200/checkpoints", |b| {
        b.iter_custom(|iters| run_iters(&rt, iters, &graph, &shared, &cfg));
    });
    g.finish();
}

const WRITES: [StateOp; 6] = [
    StateOp::Set,
    StateOp::Delete,
    StateOp::CompareAndSet,
    StateOp::Increment,
    StateOp::Expire,
    StateOp::Apply,
];
const READS: [StateOp; 3] = [StateOp::Get, StateOp::GetMany, StateOp::List];
const LEASES: [StateOp; 4] = [
    StateOp::AcquireLease,
    StateOp::RenewLease,
    StateOp::ReleaseLease,
    StateOp::CurrentLease,
];

/// Round trips per sequential step on Redis: a 1,000-step chain through the
/// `Instrumented` layer's counters, without and with progress events.
fn round_trips() {
    let Some(target) = redis_target() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    const STEPS: u32 = 1_000;
    let graph = build(&chain(STEPS));
    for events in [false, true] {
        let counting = Instrumented::new(rt.block_on(redis_backend(&target.url)));
        let cfg = config(Durability::Steps, 16).with_publish_events(events);
        let engine = Engine::new(Arc::new(counting.clone()), Arc::new(NoOp), cfg).unwrap();
        let start = Instant::now();
        let status = rt.block_on(engine.new_run(&graph).run_to_end()).unwrap();
        let elapsed = start.elapsed();
        assert_eq!(status.state, RunState::Completed);
        let stats = counting.stats();
        let calls = |ops: &[StateOp]| -> f64 {
            let n: u64 = ops.iter().map(|&op| stats.op(op).calls).sum();
            n as f64 / f64::from(STEPS)
        };
        eprintln!(
            "redis chain of {STEPS}, events {}: {:.3} calls/step (writes {:.3}, reads {:.3}, leases {:.3}, publishes {:.3}; {:.1} us/step)",
            if events { "on" } else { "off" },
            stats.total_calls() as f64 / f64::from(STEPS),
            calls(&WRITES),
            calls(&READS),
            calls(&LEASES),
            calls(&[StateOp::Publish]),
            elapsed.as_secs_f64() * 1e6 / f64::from(STEPS),
        );
    }
}

criterion_group!(benches, memory, redis);

/// Bare tokio on the same runtime: spawn `n` tasks that return at once, then
/// join them all (DESIGN.md's "bare tokio" peer figure, 0.4-0.6 us/task).
fn tokio_baseline(rt: &tokio::runtime::Runtime, n: usize) -> Duration {
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    start.elapsed()
}

/// The memory runs and the bare tokio baseline in alternating rounds, so
/// that the machine's noise (which moves criterion's back-to-back groups by
/// up to 2x here) hits all alike; prints the median of each and its ratio to
/// the baseline.
fn paired_memory() {
    const ROUNDS: usize = 15;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let memory = || -> Arc<dyn StateBackend> { Arc::new(MemoryBackend::new("bench").unwrap()) };
    let shapes = [
        ("chain", build(&chain(10_000))),
        ("fan-out", build(&fan_out(10_000))),
    ];
    let runs: Vec<(String, &WorkflowGraph, Durability)> = shapes
        .iter()
        .flat_map(|(shape, graph)| {
            [
                ("no checkpoints", Durability::None),
                ("checkpoints", Durability::Steps),
            ]
            .map(|(mode, durability)| (format!("{shape}, {mode}"), graph, durability))
        })
        .collect();
    let mut baseline = Vec::with_capacity(ROUNDS);
    let mut times = vec![Vec::with_capacity(ROUNDS); runs.len()];
    for _ in 0..ROUNDS {
        baseline.push(tokio_baseline(&rt, 10_000));
        for ((_, graph, durability), times) in runs.iter().zip(&mut times) {
            let cfg = config(*durability, 10_001);
            times.push(run_iters(&rt, 1, graph, &memory, &cfg));
        }
    }
    // Per task or step: every run has 10,000 steps (the fan-out's root aside).
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e6 / 10_000.0
    };
    let base = median(&mut baseline);
    eprintln!("\npaired memory runs ({ROUNDS} alternating rounds, median per step):");
    eprintln!("  {:<26} {base:>6.3} us/task", "bare tokio spawn + join");
    for ((name, _, _), mut times) in runs.iter().zip(times) {
        let per_step = median(&mut times);
        eprintln!(
            "  {name:<26} {per_step:>6.3} us/step  = {:>4.1}x bare tokio",
            per_step / base
        );
    }
}

fn main() {
    benches();
    if std::env::args().any(|a| a == "--bench") {
        paired_memory();
        round_trips();
    }
    Criterion::default().configure_from_args().final_summary();
}
