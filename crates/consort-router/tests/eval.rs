//! Routing quality on a hand-written evaluation set: top-1 accuracy on
//! single-expert requests and collaborator recall on multi-expert ones, for
//! the seed registry as written and for an enriched copy with descriptions
//! and keywords. Run with
//! `cargo test -p consort-router --test eval -- --nocapture`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use consort_protocol::{ExpertProfile, load_registry, seeds};
use consort_router::{RouteRequest, Router, RouterConfig};
use serde::Deserialize;

const EVAL_SET: &str = include_str!("fixtures/routing_eval.jsonl");
const ENRICHED: &str = include_str!("fixtures/registry_enriched.json");

/// Floors a little under the measured figures (see docs/routing.md).
const FLOORS: [(&str, bool, f64, f64); 4] = [
    // (registry, related terms, top-1 floor, recall floor)
    ("seed", true, 0.82, 0.75),
    ("seed", false, 0.20, 0.50),
    ("enriched", true, 0.82, 0.85),
    ("enriched", false, 0.77, 0.82),
];

#[derive(Deserialize)]
struct Case {
    request: String,
    expected: Vec<consort_protocol::ExpertId>,
    kind: String,
}

struct Score {
    top1: f64,
    recall: f64,
    misses: Vec<String>,
}

fn cases() -> Vec<Case> {
    EVAL_SET
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn evaluate(experts: &[ExpertProfile], related_terms: bool) -> Score {
    let config = RouterConfig::default().with_related_terms(related_terms);
    let router = Router::new(experts, config).unwrap();
    let (mut singles, mut correct, mut expected_total, mut found) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for case in cases() {
        let decision = router.route(&RouteRequest::new(&case.request));
        let involved: Vec<&consort_protocol::ExpertId> = decision.experts().collect();
        match case.kind.as_str() {
            "single" => {
                singles += 1;
                if decision.primary.as_ref() == case.expected.first() {
                    correct += 1;
                } else {
                    misses.push(format!("{} -> {:?}", case.request, decision.primary));
                }
            }
            "multi" => {
                expected_total += case.expected.len();
                let hits = case
                    .expected
                    .iter()
                    .filter(|e| involved.contains(e))
                    .count();
                found += hits;
                if hits < case.expected.len() {
                    misses.push(format!("{} -> {involved:?}", case.request));
                }
            }
            other => panic!("unknown kind {other:?}"),
        }
    }
    Score {
        top1: f64::from(correct) / f64::from(singles),
        recall: found as f64 / expected_total as f64,
        misses,
    }
}

#[test]
fn routing_quality_meets_the_floors() {
    let cases = cases();
    let singles = cases.iter().filter(|c| c.kind == "single").count();
    let multis = cases.len() - singles;
    assert!(
        singles >= 80 && multis >= 15,
        "{singles} single, {multis} multi"
    );
    let seed = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let enriched = load_registry(ENRICHED).unwrap();
    let verbose = std::env::var_os("EVAL_MISSES").is_some();
    for (name, related, top1_floor, recall_floor) in FLOORS {
        let experts = if name == "seed" { &seed } else { &enriched };
        let score = evaluate(experts, related);
        println!(
            "{name:8} related_terms={related:5}: top-1 {:.3} ({singles} single), collaborator recall {:.3} ({multis} multi)",
            score.top1, score.recall
        );
        if verbose {
            for miss in &score.misses {
                println!("    miss: {miss}");
            }
        }
        assert!(
            score.top1 >= top1_floor,
            "{name}: top-1 {} < {top1_floor}",
            score.top1
        );
        assert!(
            score.recall >= recall_floor,
            "{name}: recall {} < {recall_floor}",
            score.recall
        );
    }
}
