//! consort-state: MemoryBackend op cost, and RedisBackend against raw
//! redis-rs on the same patterns (sequential, 100 in flight, batch of 100).
//!
//! `cargo bench -p consort-benches --bench state`. Redis comes from
//! `CONSORT_REDIS_URL`, else a private `redis-server` from PATH; without
//! either the Redis groups are skipped.
//!
//! Instructions per memory op, with and without the `Instrumented` layer,
//! for callgrind (the figures in docs/state.md#performance):
//!
//! ```sh
//! cargo bench -p consort-benches --bench state --no-run
//! valgrind --tool=callgrind --toggle-collect='state::measured' \
//!     target/release/deps/state-<hash> get        # or set, layered-get, layered-set
//! ```
//!
//! Then divide the collected count by 10,000.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    missing_docs
)]

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use consort_state::testkit::{RedisServer, random_namespace, redis_server_available};
use consort_state::{Batch, Instrumented, MemoryBackend, RedisBackend, RedisConfig, StateBackend};
use criterion::{Criterion, Throughput, criterion_group};
use futures_util::FutureExt;
use futures_util::future::join_all;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

const N: usize = 100;

fn memory(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let b = MemoryBackend::new("bench").unwrap();
    let value = Bytes::from_static(&[7u8; 64]);
    for i in 0..10_000 {
        b.set(&format!("key:{i}"), value.clone(), None)
            .now_or_never()
            .unwrap()
            .unwrap();
    }
    let mut g = c.benchmark_group("memory");
    // The memory backend never waits, so polling once measures the op itself
    // rather than an executor.
    g.bench_function("get", |bench| {
        bench.iter(|| {
            black_box(
                b.get(black_box("key:4242"))
                    .now_or_never()
                    .unwrap()
                    .unwrap(),
            );
        });
    });
    g.bench_function("set", |bench| {
        bench.iter(|| {
            black_box(
                b.set(black_box("key:4242"), value.clone(), None)
                    .now_or_never()
                    .unwrap()
                    .unwrap(),
            );
        });
    });
    g.bench_function("set_with_ttl", |bench| {
        bench.iter(|| {
            black_box(
                b.set(
                    black_box("key:4243"),
                    value.clone(),
                    Some(Duration::from_secs(60)),
                )
                .now_or_never()
                .unwrap()
                .unwrap(),
            );
        });
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
        eprintln!("SKIP redis benches: no redis-server on PATH and CONSORT_REDIS_URL unset");
        return None;
    }
    let server = RedisServer::start();
    Some(Target {
        url: server.url(),
        _server: Some(server),
    })
}

fn redis(c: &mut Criterion) {
    let Some(target) = redis_target() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = rt
        .block_on(RedisBackend::connect(RedisConfig::new(
            target.url.clone(),
            random_namespace("bench"),
        )))
        .unwrap();
    let mut raw: ConnectionManager = rt
        .block_on(async {
            redis::Client::open(target.url.as_str())
                .unwrap()
                .get_connection_manager()
                .await
        })
        .unwrap();
    let value = Bytes::from_static(&[7u8; 64]);
    let keys: Vec<String> = (0..N).map(|i| format!("key:{i}")).collect();
    // Same key layout and length as ours (`{ns}:kv:{key}`), so the server
    // does the same work per key and only the client code differs.
    let raw_ns = random_namespace("bench");
    let raw_keys: Vec<String> = (0..N).map(|i| format!("{raw_ns}:kv:key:{i}")).collect();
    rt.block_on(async {
        for (k, rk) in keys.iter().zip(&raw_keys) {
            ours.set(k, value.clone(), None).await.unwrap();
            let () = raw.set(rk, value.as_ref()).await.unwrap();
        }
    });

    let mut g = c.benchmark_group("redis_sequential");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ours_get", |bench| {
        bench.iter(|| rt.block_on(async { black_box(ours.get(&keys[7]).await.unwrap()) }));
    });
    g.bench_function("raw_get", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let v: Option<Vec<u8>> = raw.clone().get(&raw_keys[7]).await.unwrap();
                black_box(v)
            })
        });
    });
    g.bench_function("ours_set", |bench| {
        bench.iter(|| {
            rt.block_on(async { black_box(ours.set(&keys[7], value.clone(), None).await.unwrap()) })
        });
    });
    g.bench_function("raw_set", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let () = raw.clone().set(&raw_keys[7], value.as_ref()).await.unwrap();
            });
        });
    });
    g.finish();

    let mut g = c.benchmark_group("redis_100_in_flight");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("ours_get", |bench| {
        bench.iter(|| {
            rt.block_on(async { black_box(join_all(keys.iter().map(|k| ours.get(k))).await) })
        });
    });
    g.bench_function("raw_get", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let futs = raw_keys.iter().map(|k| {
                    let mut con = raw.clone();
                    async move {
                        let v: Option<Vec<u8>> = con.get(k).await.unwrap();
                        v
                    }
                });
                black_box(join_all(futs).await)
            })
        });
    });
    g.bench_function("ours_set", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                black_box(join_all(keys.iter().map(|k| ours.set(k, value.clone(), None))).await)
            })
        });
    });
    g.bench_function("raw_set", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let futs = raw_keys.iter().map(|k| {
                    let mut con = raw.clone();
                    let v = value.clone();
                    async move {
                        let () = con.set(k, v.as_ref()).await.unwrap();
                    }
                });
                join_all(futs).await
            })
        });
    });
    g.finish();

    let mut g = c.benchmark_group("redis_batch_100");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("ours_get_many", |bench| {
        bench.iter(|| rt.block_on(async { black_box(ours.get_many(&keys).await.unwrap()) }));
    });
    g.bench_function("raw_mget", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let v: Vec<Option<Vec<u8>>> = raw.clone().mget(&raw_keys).await.unwrap();
                black_box(v)
            })
        });
    });
    g.bench_function("raw_pipeline_get", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let mut p = redis::pipe();
                for k in &raw_keys {
                    p.get(k);
                }
                let v: Vec<Option<Vec<u8>>> = p.query_async(&mut raw.clone()).await.unwrap();
                black_box(v)
            })
        });
    });
    g.bench_function("ours_apply_set", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let batch = keys
                    .iter()
                    .fold(Batch::new(), |b, k| b.set(k.clone(), value.clone(), None));
                black_box(ours.apply(batch).await.unwrap())
            })
        });
    });
    g.bench_function("raw_pipeline_set", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let mut p = redis::pipe();
                for k in &raw_keys {
                    p.set(k, value.as_ref()).ignore();
                }
                let () = p.query_async(&mut raw.clone()).await.unwrap();
            });
        });
    });
    g.bench_function("raw_mset", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let pairs: Vec<(&String, &[u8])> =
                    raw_keys.iter().map(|k| (k, value.as_ref())).collect();
                let () = raw.clone().mset(&pairs).await.unwrap();
            });
        });
    });
    g.finish();
}

/// Ours and raw alternate in short rounds so that load from other processes
/// on a shared machine hits both sides alike; criterion's back-to-back
/// groups cannot cancel that out. Prints one line per pattern.
fn paired_ratios() {
    let Some(target) = redis_target() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = rt
        .block_on(RedisBackend::connect(RedisConfig::new(
            target.url.clone(),
            random_namespace("paired"),
        )))
        .unwrap();
    let raw: ConnectionManager = rt
        .block_on(async {
            redis::Client::open(target.url.as_str())
                .unwrap()
                .get_connection_manager()
                .await
        })
        .unwrap();
    let value = Bytes::from_static(&[7u8; 64]);
    let keys: Vec<String> = (0..N).map(|i| format!("key:{i}")).collect();
    // Same key layout and length as ours (`{ns}:kv:{key}`), so the server
    // does the same work per key and only the client code differs.
    let raw_ns = random_namespace("bench");
    let raw_keys: Vec<String> = (0..N).map(|i| format!("{raw_ns}:kv:key:{i}")).collect();
    rt.block_on(async {
        for (k, rk) in keys.iter().zip(&raw_keys) {
            ours.set(k, value.clone(), None).await.unwrap();
            let () = raw.clone().set(rk, value.as_ref()).await.unwrap();
        }
    });
    type Round<'a> = Box<dyn Fn() + 'a>;
    let patterns: Vec<(&str, u64, usize, Round<'_>, Round<'_>)> = vec![
        (
            "sequential get",
            1,
            200,
            Box::new(|| {
                rt.block_on(async { black_box(ours.get(&keys[7]).await.unwrap()) });
            }),
            Box::new(|| {
                rt.block_on(async {
                    let v: Option<Vec<u8>> = raw.clone().get(&raw_keys[7]).await.unwrap();
                    black_box(v)
                });
            }),
        ),
        (
            "sequential set",
            1,
            200,
            Box::new(|| {
                rt.block_on(async {
                    black_box(ours.set(&keys[7], value.clone(), None).await.unwrap())
                });
            }),
            Box::new(|| {
                rt.block_on(async {
                    let () = raw.clone().set(&raw_keys[7], value.as_ref()).await.unwrap();
                });
            }),
        ),
        (
            "100 in flight get",
            N as u64,
            10,
            Box::new(|| {
                rt.block_on(async { black_box(join_all(keys.iter().map(|k| ours.get(k))).await) });
            }),
            Box::new(|| {
                rt.block_on(async {
                    black_box(
                        join_all(raw_keys.iter().map(|k| {
                            let mut con = raw.clone();
                            async move {
                                let v: Option<Vec<u8>> = con.get(k).await.unwrap();
                                v
                            }
                        }))
                        .await,
                    )
                });
            }),
        ),
        (
            "100 in flight set",
            N as u64,
            10,
            Box::new(|| {
                rt.block_on(async {
                    black_box(join_all(keys.iter().map(|k| ours.set(k, value.clone(), None))).await)
                });
            }),
            Box::new(|| {
                rt.block_on(async {
                    join_all(raw_keys.iter().map(|k| {
                        let mut con = raw.clone();
                        let v = value.clone();
                        async move {
                            let () = con.set(k, v.as_ref()).await.unwrap();
                        }
                    }))
                    .await
                });
            }),
        ),
        (
            "batch of 100 get (get_many vs MGET)",
            N as u64,
            20,
            Box::new(|| {
                rt.block_on(async { black_box(ours.get_many(&keys).await.unwrap()) });
            }),
            Box::new(|| {
                rt.block_on(async {
                    let v: Vec<Option<Vec<u8>>> = raw.clone().mget(&raw_keys).await.unwrap();
                    black_box(v)
                });
            }),
        ),
        (
            "batch of 100 set (apply vs MSET)",
            N as u64,
            20,
            Box::new(|| {
                rt.block_on(async {
                    let batch = keys
                        .iter()
                        .fold(Batch::new(), |b, k| b.set(k.clone(), value.clone(), None));
                    black_box(ours.apply(batch).await.unwrap())
                });
            }),
            Box::new(|| {
                rt.block_on(async {
                    let pairs: Vec<(&String, &[u8])> =
                        raw_keys.iter().map(|k| (k, value.as_ref())).collect();
                    let () = raw.clone().mset(&pairs).await.unwrap();
                });
            }),
        ),
        (
            "batch of 100 set with TTL (apply vs MULTI/EXEC pipeline)",
            N as u64,
            20,
            Box::new(|| {
                rt.block_on(async {
                    let batch = keys.iter().fold(Batch::new(), |b, k| {
                        b.set(k.clone(), value.clone(), Some(Duration::from_secs(60)))
                    });
                    black_box(ours.apply(batch).await.unwrap())
                });
            }),
            Box::new(|| {
                rt.block_on(async {
                    let mut p = redis::pipe();
                    p.atomic();
                    for k in &raw_keys {
                        p.pset_ex(k, value.as_ref(), 60_000).ignore();
                    }
                    let () = p.query_async(&mut raw.clone()).await.unwrap();
                });
            }),
        ),
    ];
    eprintln!("\npaired ours/raw (30 alternating rounds each):");
    for (name, per_iter, iters, ours_fn, raw_fn) in &patterns {
        let (mut t_ours, mut t_raw) = (Duration::ZERO, Duration::ZERO);
        for round in 0..30 {
            let timed = |f: &Round<'_>| {
                let start = std::time::Instant::now();
                for _ in 0..*iters {
                    f();
                }
                start.elapsed()
            };
            if round % 2 == 0 {
                t_ours += timed(ours_fn);
                t_raw += timed(raw_fn);
            } else {
                t_raw += timed(raw_fn);
                t_ours += timed(ours_fn);
            }
        }
        let ops = (30 * iters) as f64 * *per_iter as f64;
        eprintln!(
            "  {name:48} ours {:8.0} ops/s  raw {:8.0} ops/s  ours/raw {:5.1}%",
            ops / t_ours.as_secs_f64(),
            ops / t_raw.as_secs_f64(),
            100.0 * t_raw.as_secs_f64() / t_ours.as_secs_f64()
        );
    }
}

criterion_group!(benches, memory, redis);

/// Ops per callgrind run.
const MEASURED_OPS: usize = 10_000;

/// `MEASURED_OPS` gets or sets of one 64-byte value among 10,000 keys,
/// through `Arc<dyn StateBackend>` as callers hold it: what callgrind counts.
#[inline(never)]
fn measured(b: &dyn StateBackend, op: &str, value: &Bytes) {
    for _ in 0..MEASURED_OPS {
        if op == "get" {
            black_box(
                b.get(black_box("key:4242"))
                    .now_or_never()
                    .unwrap()
                    .unwrap(),
            );
        } else {
            black_box(
                b.set(black_box("key:4242"), value.clone(), None)
                    .now_or_never()
                    .unwrap()
                    .unwrap(),
            );
        }
    }
}

/// The callgrind driver: `get`, `set`, `layered-get` or `layered-set`
/// (through `Instrumented`, no metrics recorder installed).
fn callgrind(which: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let memory = MemoryBackend::new("bench").unwrap();
    let value = Bytes::from_static(&[7u8; 64]);
    for i in 0..10_000 {
        memory
            .set(&format!("key:{i}"), value.clone(), None)
            .now_or_never()
            .unwrap()
            .unwrap();
    }
    let (backend, op): (std::sync::Arc<dyn StateBackend>, &str) =
        match which.strip_prefix("layered-") {
            Some(op) => (std::sync::Arc::new(Instrumented::new(memory)), op),
            None => (std::sync::Arc::new(memory), which),
        };
    // One warm-up pass outside the measured function.
    black_box(backend.get("key:4242").now_or_never());
    measured(&*backend, op, &value);
}

fn main() {
    let driver = ["get", "set", "layered-get", "layered-set"];
    if let Some(which) = std::env::args().find(|a| driver.contains(&a.as_str())) {
        callgrind(&which);
        return;
    }
    benches();
    // `cargo bench` passes --bench; `cargo test --benches` does not, and
    // there a smoke run of the criterion groups is enough.
    if std::env::args().any(|a| a == "--bench") {
        paired_ratios();
    }
    Criterion::default().configure_from_args().final_summary();
}
