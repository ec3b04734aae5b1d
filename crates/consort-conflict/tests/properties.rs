//! Invariants of resolution over generated recommendation sets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::collections::BTreeMap;

use common::{experts, resolver};
use consort_conflict::{ConflictError, Report, StrategyName};
use consort_protocol::{Confidence, ExpertId, ExpertRecommendation, Priority};
use proptest::prelude::*;
use serde_json::{Value, json};

const EXPERTS: [&str; 8] = [
    "finance_accountant",
    "personal_assistant",
    "marketing_sales",
    "art_design",
    "project_management",
    "legal_consultant",
    "hr_people_ops",
    "digital_business_think_tank",
];
const SUBJECTS: [&str; 5] = [
    "campaign_budget",
    "launch_date",
    "hiring_plan",
    "brand_refresh",
    "compliance_audit",
];
const RESOURCES: [&str; 2] = ["budget", "designer_hours"];

fn position() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0_u8..3).prop_map(|n| json!(n)),
        // The same numbers written as floats must not look different.
        (0_u8..3).prop_map(|n| json!(f64::from(n))),
        prop::sample::select(vec!["yes", "no"]).prop_map(|s| json!(s)),
    ]
}

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(vec![Priority::Low, Priority::Medium, Priority::High])
}

fn recommendation() -> impl Strategy<Value = ExpertRecommendation> {
    (
        prop::sample::select(EXPERTS.to_vec()),
        prop::sample::select(SUBJECTS.to_vec()),
        prop::option::of(prop::sample::select(vec![
            "budgeting",
            "marketing",
            "compliance",
            "design",
        ])),
        position(),
        // Tenths make ties between experts likely.
        (0_u8..=10).prop_map(|t| f64::from(t) / 10.0),
        priority(),
        prop::collection::vec(prop::sample::select(SUBJECTS.to_vec()), 0..2),
        prop::collection::btree_map(
            prop::sample::select(RESOURCES.to_vec()),
            0.0..1_000.0_f64,
            0..3,
        ),
    )
        .prop_map(
            |(expert, subject, domain, position, confidence, priority, precedes, resources)| {
                ExpertRecommendation {
                    expert: expert.into(),
                    subject: subject.into(),
                    domain: domain.map(Into::into),
                    position,
                    confidence_level: Confidence::new(confidence).unwrap(),
                    priority,
                    // Sparse precedence claims: a few cycles, not everything.
                    precedes: precedes
                        .into_iter()
                        .take(usize::from(confidence > 0.7))
                        .map(Into::into)
                        .collect(),
                    requested_resources: resources
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                    rationale: String::new(),
                }
            },
        )
}

fn capacities() -> impl Strategy<Value = BTreeMap<String, f64>> {
    prop::collection::btree_map(
        prop::sample::select(RESOURCES.to_vec()),
        0.0..3_000.0_f64,
        0..3,
    )
    .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn recommendations_and_shuffle()
-> impl Strategy<Value = (Vec<ExpertRecommendation>, Vec<ExpertRecommendation>)> {
    prop::collection::vec(recommendation(), 0..40)
        .prop_flat_map(|recs| (Just(recs.clone()), Just(recs).prop_shuffle()))
}

fn serialised(report: &Report) -> String {
    serde_json::to_string(report).unwrap()
}

/// Sum of each expert's requests for each resource.
fn requested(recs: &[ExpertRecommendation]) -> BTreeMap<(String, ExpertId), f64> {
    let mut total = BTreeMap::new();
    for r in recs {
        for (resource, amount) in &r.requested_resources {
            *total
                .entry((resource.clone(), r.expert.clone()))
                .or_default() += amount;
        }
    }
    total
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn deterministic_and_independent_of_input_order(
        (recs, shuffled) in recommendations_and_shuffle(),
        caps in capacities(),
    ) {
        let r = resolver();
        let first = r.resolve(&recs, &caps).unwrap();
        prop_assert_eq!(serialised(&first), serialised(&r.resolve(&recs, &caps).unwrap()));
        prop_assert_eq!(serialised(&first), serialised(&r.resolve(&shuffled, &caps).unwrap()));
        prop_assert!((0.0..=1.0).contains(&first.agreement_rate));
        let automatic = first.conflicts.iter().filter(|c| !c.escalated).count();
        if !first.conflicts.is_empty() {
            prop_assert!((first.automatic_resolution_rate - automatic as f64 / first.conflicts.len() as f64).abs() < 1e-12);
        }
    }

    #[test]
    fn prioritization_ranks_by_weight_whatever_the_input_order(
        (recs, shuffled) in recommendations_and_shuffle(),
    ) {
        let r = resolver();
        let ranked = r.prioritize(&recs).unwrap();
        prop_assert_eq!(ranked.len(), recs.len());
        let json = |v: &[consort_conflict::PrioritizedRecommendation]| serde_json::to_string(v).unwrap();
        prop_assert_eq!(json(&ranked), json(&r.prioritize(&shuffled).unwrap()));
        for (i, pair) in ranked.windows(2).enumerate() {
            prop_assert!(pair[0].weight >= pair[1].weight, "rank {} outweighed", i + 1);
        }
        for (i, entry) in ranked.iter().enumerate() {
            prop_assert_eq!(entry.rank, i + 1);
            let expected = entry.priority_factor
                * entry.authority
                * entry.recommendation.confidence_level.get();
            prop_assert!((entry.weight - expected).abs() < 1e-12);
        }
    }

    #[test]
    fn allocations_respect_capacity_and_requests(
        recs in prop::collection::vec(recommendation(), 0..40),
        caps in capacities(),
    ) {
        let report = resolver().resolve(&recs, &caps).unwrap();
        let requested = requested(&recs);
        let granted = report.conflicts.iter().map(|c| &c.allocations).chain([&report.unified.allocations]);
        for allocations in granted {
            for (resource, grants) in allocations {
                let mut sum = 0.0;
                for (expert, &amount) in grants {
                    prop_assert!(amount >= 0.0, "{resource}/{expert}: {amount}");
                    let asked = requested[&(resource.clone(), expert.clone())];
                    prop_assert!(amount <= asked + 1e-9 * asked.max(1.0), "{resource}/{expert}: {amount} > {asked}");
                    sum += amount;
                }
                if let Some(&capacity) = caps.get(resource) {
                    prop_assert!(sum <= capacity + 1e-9 * capacity.max(1.0), "{resource}: {sum} > {capacity}");
                }
            }
        }
    }

    #[test]
    fn unanimous_recommendations_have_no_conflict(
        agreed in prop::collection::vec((position(), priority()), SUBJECTS.len()),
        picks in prop::collection::vec((0..EXPERTS.len(), 0..SUBJECTS.len(), 0_u8..=10, 0.0..100.0_f64), 0..40),
        capacity_room in 0.0..100.0_f64,
    ) {
        let recs: Vec<ExpertRecommendation> = picks
            .iter()
            .map(|&(e, s, c, amount)| {
                let (position, priority) = agreed[s].clone();
                ExpertRecommendation {
                    expert: EXPERTS[e].into(),
                    subject: SUBJECTS[s].into(),
                    domain: None,
                    position,
                    confidence_level: Confidence::new(f64::from(c) / 10.0).unwrap(),
                    priority,
                    precedes: Vec::new(),
                    requested_resources: BTreeMap::from([("budget".to_owned(), amount)]),
                    rationale: String::new(),
                }
            })
            .collect();
        let total: f64 = recs.iter().map(|r| r.requested_resources["budget"]).sum();
        let caps = BTreeMap::from([("budget".to_owned(), total + capacity_room)]);
        let report = resolver().resolve(&recs, &caps).unwrap();
        prop_assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
        prop_assert_eq!(report.agreement_rate, 1.0);
        prop_assert_eq!(report.automatic_resolution_rate, 1.0);
        prop_assert!(report.unified.decisions.values().all(|d| d.strategy == Some(StrategyName::Unanimous)));
    }

    #[test]
    fn invalid_recommendations_are_rejected_with_their_index(
        recs in prop::collection::vec(recommendation(), 1..20),
        at in any::<prop::sample::Index>(),
        amount in prop_oneof![-1e6..-1e-9_f64, Just(f64::INFINITY), Just(f64::NAN)],
    ) {
        let index = at.index(recs.len());
        let mut unknown = recs.clone();
        unknown[index].expert = "nobody".into();
        let err = resolver().resolve(&unknown, &BTreeMap::new()).unwrap_err();
        let is_expected = matches!(&err, ConflictError::UnknownExpert { index: i, expert } if *i == index && expert == "nobody");
        prop_assert!(is_expected, "{:?}", err);

        let mut negative = recs;
        negative[index].requested_resources.insert("budget".into(), amount);
        let err = resolver().resolve(&negative, &BTreeMap::new()).unwrap_err();
        let is_expected = matches!(&err, ConflictError::InvalidRecommendation { index: i, .. } if *i == index);
        prop_assert!(is_expected, "{}", err);
        prop_assert!(err.to_string().starts_with(&format!("recommendations[{index}].requested_resources.budget: ")), "{}", err);
    }
}

#[test]
fn profiles_are_the_seed_experts() {
    // The generators above draw expert ids from this list.
    let ids: Vec<String> = experts().into_iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids, EXPERTS);
}

/// Found by `deterministic_and_independent_of_input_order`: one expert
/// recommending the same number written two ways (`0` and `0.0`). The report
/// shows one of the two as written; which one must not depend on the order.
#[test]
fn equal_positions_written_differently_resolve_the_same_in_any_order() {
    let rec = |position: Value| -> ExpertRecommendation {
        serde_json::from_value(json!({
            "expert": "legal_consultant",
            "subject": "campaign_budget",
            "position": position,
            "confidence_level": 0.2,
            "priority": "high"
        }))
        .unwrap()
    };
    let (int, float) = (rec(json!(0)), rec(json!(0.0)));
    let r = resolver();
    let one = r
        .resolve(&[int.clone(), float.clone()], &BTreeMap::new())
        .unwrap();
    let other = r.resolve(&[float, int], &BTreeMap::new()).unwrap();
    assert_eq!(serialised(&one), serialised(&other));
}
