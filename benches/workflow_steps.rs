//! Instructions per workflow step, for callgrind: the figures in
//! docs/workflows.md#performance come from this.
//!
//! ```sh
//! cargo bench -p consort-benches --bench workflow_steps --no-run
//! valgrind --tool=callgrind --toggle-collect='workflow_steps::measured' \
//!     target/release/deps/workflow_steps-<hash> chain checkpoints
//! ```
//!
//! Then divide the collected count by 10,000. The shape is `chain` or
//! `fan-out`, the mode `checkpoints` or `none`; without arguments (as
//! `cargo bench` runs it) every combination runs once and prints its wall
//! time. One warm-up run comes first, outside the measured function: the
//! first durable run of a graph also encodes its definition.

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use consort_state::{MemoryBackend, StateBackend};
use consort_workflow::{Durability, Engine, RunState, WorkflowGraph};

#[path = "workflow_shapes.rs"]
mod shapes;
use shapes::{NoOp, build, chain, config, fan_out};

fn engine(durability: Durability) -> Engine {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("bench").unwrap());
    Engine::new(backend, Arc::new(NoOp), config(durability, 10_001)).unwrap()
}

/// One whole run: what callgrind counts.
#[inline(never)]
fn measured(rt: &tokio::runtime::Runtime, engine: &Engine, graph: &WorkflowGraph) {
    let status = rt.block_on(engine.new_run(graph).run_to_end()).unwrap();
    assert_eq!(status.state, RunState::Completed);
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let shapes: Vec<(&str, WorkflowGraph)> = vec![
        ("chain", build(&chain(10_000))),
        ("fan-out", build(&fan_out(10_000))),
    ];
    let modes = [
        ("none", Durability::None),
        ("checkpoints", Durability::Steps),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (shape, graph) in &shapes {
        for (mode, durability) in modes {
            let wanted = |i: usize, name: &str| args.get(i).is_none_or(|a| a == name);
            if !(wanted(0, shape) && wanted(1, mode)) {
                continue;
            }
            let warm = engine(durability);
            let status = rt.block_on(warm.new_run(graph).run_to_end()).unwrap();
            assert_eq!(status.state, RunState::Completed);
            let engine = engine(durability);
            let start = Instant::now();
            measured(&rt, &engine, graph);
            eprintln!("{shape} {mode}: {:?} for 10,000 steps", start.elapsed());
        }
    }
}
