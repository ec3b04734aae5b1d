//! consort-conflict: resolving 1,000 recommendations from the 8 seed experts
//! over 100 subjects (agreements, contradictions, priority mismatches,
//! precedence cycles and over-subscribed resources), and the small budget
//! example.
//!
//! `cargo bench -p consort-benches --bench conflict`.

#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::collections::BTreeMap;
use std::hint::black_box;

use consort_conflict::{BUDGET_DISAGREEMENT, ConflictResolver, Policy, ResolveInput};
use consort_protocol::{
    Confidence, ExpertId, ExpertRecommendation, Priority, from_json_str, load_registry, seeds,
};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const RECOMMENDATIONS: usize = 1_000;
const SUBJECTS: usize = 100;
const DOMAINS: [&str; 6] = [
    "budgeting",
    "marketing",
    "compliance",
    "design",
    "planning",
    "innovation",
];

/// A fixed mix, by subject number: a third unanimous, a third contradicting
/// (two or three positions), a third agreeing on the position but not the
/// priority; every tenth subject claims to precede the next, which claims
/// the reverse on every twentieth; every fourth recommendation asks for
/// budget and every seventh for designer hours.
fn workload(experts: &[ExpertId]) -> (Vec<ExpertRecommendation>, BTreeMap<String, f64>) {
    let priorities = [Priority::Low, Priority::Medium, Priority::High];
    let recs = (0..RECOMMENDATIONS)
        .map(|i| {
            let s = i % SUBJECTS;
            let round = i / SUBJECTS;
            let position = match s % 3 {
                1 => json!(10_000 * (round % (2 + s % 2))),
                _ => json!(format!("plan-{s}")),
            };
            let priority = if s % 3 == 2 {
                priorities[round % 3]
            } else {
                Priority::Medium
            };
            let mut precedes = Vec::new();
            if s.is_multiple_of(10) && round == 0 {
                precedes.push(format!("subject_{:03}", s + 1));
            }
            if s % 20 == 1 && round == 0 {
                precedes.push(format!("subject_{:03}", s - 1));
            }
            let mut requested_resources = BTreeMap::new();
            if i.is_multiple_of(4) {
                requested_resources.insert("budget".to_owned(), 1_000.0 + (i % 13) as f64 * 250.0);
            }
            if i.is_multiple_of(7) {
                requested_resources.insert("designer_hours".to_owned(), 5.0 + (i % 5) as f64);
            }
            ExpertRecommendation {
                expert: experts[(i * 3 + round) % experts.len()].clone(),
                subject: format!("subject_{s:03}"),
                domain: (!i.is_multiple_of(5)).then(|| DOMAINS[s % DOMAINS.len()].to_owned()),
                position,
                confidence_level: Confidence::new(0.5 + (i % 6) as f64 * 0.1).unwrap(),
                priority,
                precedes,
                requested_resources,
                rationale: String::new(),
            }
        })
        .collect();
    let capacities = BTreeMap::from([
        ("budget".to_owned(), 200_000.0),
        ("designer_hours".to_owned(), 600.0),
    ]);
    (recs, capacities)
}

fn resolve(c: &mut Criterion) {
    let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let ids: Vec<ExpertId> = experts.iter().map(|e| e.id.clone()).collect();
    let resolver = ConflictResolver::new(&experts, Policy::default()).unwrap();
    let (recs, capacities) = workload(&ids);
    let report = resolver.resolve(&recs, &capacities).unwrap();
    // The workload must exercise every detector, or the figure means little.
    let kinds: std::collections::BTreeSet<_> = report.conflicts.iter().map(|r| r.kind).collect();
    assert_eq!(kinds.len(), 3, "kinds found: {kinds:?}");

    let mut g = c.benchmark_group("conflict");
    g.bench_function("resolve_1000_recs_8_experts_100_subjects", |b| {
        b.iter(|| {
            black_box(
                resolver
                    .resolve(black_box(&recs), black_box(&capacities))
                    .unwrap(),
            )
        });
    });
    let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT).unwrap();
    g.bench_function("resolve_budget_example_6_recs", |b| {
        b.iter(|| {
            black_box(
                resolver
                    .resolve(black_box(&input.recommendations), &input.capacities)
                    .unwrap(),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, resolve);
criterion_main!(benches);
