//! Invariants over random registries and requests: determinism, independence
//! from profile order, never routing to an offline expert, scores in range.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use consort_protocol::{
    Availability, ComplexityLevel, ComplexityRange, ExpertId, ExpertProfile, PriorityLevel,
};
use consort_router::{RouteContext, RouteRequest, Router, RouterConfig};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "budget",
    "tax",
    "campaign",
    "design",
    "logo",
    "contract",
    "law",
    "hiring",
    "culture",
    "schedule",
    "meeting",
    "risk",
    "planning",
    "innovation",
    "market",
    "sales",
    "brand",
    "cash",
    "flow",
    "compliance",
    "review",
    "timeline",
    "talent",
    "strategy",
    "and",
    "the",
    "lawyer",
    "invoice",
    "ok",
    "yes",
];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_owned)
}

fn availability() -> impl Strategy<Value = Availability> {
    prop_oneof![
        Just(Availability::Available),
        Just(Availability::Busy),
        Just(Availability::Offline)
    ]
}

fn level() -> impl Strategy<Value = ComplexityLevel> {
    prop_oneof![
        Just(ComplexityLevel::Low),
        Just(ComplexityLevel::Medium),
        Just(ComplexityLevel::High)
    ]
}

fn profile(id: String) -> impl Strategy<Value = ExpertProfile> {
    (
        prop::collection::vec(word(), 1..4),
        prop::collection::vec((word(), word()).prop_map(|(a, b)| format!("{a}_{b}")), 0..3),
        prop::collection::vec(word(), 0..3),
        availability(),
        0_u32..6,
        prop::option::of(1_u32..5),
        prop::sample::select(
            &[
                PriorityLevel::Low,
                PriorityLevel::Medium,
                PriorityLevel::High,
                PriorityLevel::Coordinator,
            ][..],
        ),
        1_u64..6,
        prop::option::of((level(), level())),
    )
        .prop_map(
            move |(domains, capabilities, keywords, status, load, max, priority, sla, range)| {
                let mut p = ExpertProfile::new(id.clone(), domains);
                p.collaboration_capabilities = capabilities;
                p.keywords = keywords;
                p.availability_status = status;
                p.current_load = load;
                p.max_concurrent = max;
                p.priority_level = priority;
                p.response_time_sla = Duration::from_secs(sla);
                p.complexity_range =
                    range.map(|(a, b)| ComplexityRange::new(a.min(b), a.max(b)).unwrap());
                p
            },
        )
}

fn registry() -> impl Strategy<Value = Vec<ExpertProfile>> {
    (1_usize..10).prop_flat_map(|n| {
        (0..n)
            .map(|i| profile(format!("expert_{i}")))
            .collect::<Vec<_>>()
    })
}

fn request(experts: usize) -> impl Strategy<Value = RouteRequest> {
    let id = move || (0..experts.max(1)).prop_map(|i| ExpertId::from(format!("expert_{i}")));
    (
        prop::collection::vec(word(), 0..12),
        prop::option::of(id()),
        prop::collection::vec(id(), 0..3),
        prop::collection::btree_map(id(), availability(), 0..3),
        prop::collection::btree_map(id(), 0_u32..8, 0..3),
    )
        .prop_map(|(words, previous, collaborators, live, load)| {
            let mut context = RouteContext::default()
                .with_collaborators(collaborators)
                .with_availability(live)
                .with_load(load);
            context.previous_expert = previous;
            RouteRequest::new(words.join(" ")).with_context(context)
        })
}

fn case() -> impl Strategy<Value = (Vec<ExpertProfile>, RouteRequest, Vec<usize>)> {
    registry().prop_flat_map(|experts| {
        let n = experts.len();
        (
            Just(experts),
            request(n),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        )
    })
}

fn offline(experts: &[ExpertProfile], context: &RouteContext) -> Vec<ExpertId> {
    let mut status: BTreeMap<&str, Availability> = experts
        .iter()
        .map(|e| (e.id.as_str(), e.availability_status))
        .collect();
    for (id, a) in &context.availability {
        if let Some(s) = status.get_mut(id.as_str()) {
            *s = *a;
        }
    }
    status
        .into_iter()
        .filter(|(_, a)| *a == Availability::Offline)
        .map(|(id, _)| ExpertId::from(id))
        .collect()
}

proptest! {
    #[test]
    fn routing_is_deterministic_and_independent_of_profile_order(
        (experts, request, order) in case()
    ) {
        let router = Router::new(&experts, RouterConfig::default()).unwrap();
        let first = router.route(&request);
        prop_assert_eq!(&first, &router.route(&request));
        let shuffled: Vec<ExpertProfile> = order.iter().map(|&i| experts[i].clone()).collect();
        let rebuilt = Router::new(&shuffled, RouterConfig::default()).unwrap();
        prop_assert_eq!(&first, &rebuilt.route(&request));
    }

    #[test]
    fn never_routes_to_an_offline_expert((experts, request, _) in case()) {
        let config = RouterConfig::default()
            .with_fallback_expert(experts[0].id.clone())
            .with_min_score(0.3);
        let router = Router::new(&experts, config).unwrap();
        let decision = router.route(&request);
        let offline = offline(&experts, &request.context);
        for id in decision.experts() {
            prop_assert!(!offline.contains(id), "{} is offline: {}", id, decision);
        }
        for c in &decision.candidates {
            prop_assert!(!offline.contains(&c.expert), "{} is offline: {}", c.expert, decision);
        }
    }

    #[test]
    fn scores_and_signals_stay_within_zero_and_one((experts, request, _) in case()) {
        let decision = Router::new(&experts, RouterConfig::default()).unwrap().route(&request);
        let mut previous = f64::INFINITY;
        for c in &decision.candidates {
            let b = &c.breakdown;
            for value in [c.score, b.domain, b.capability, b.complexity, b.context, b.availability] {
                prop_assert!((0.0..=1.0).contains(&value), "{} out of range: {}", value, decision);
            }
            // Ranked best first, up to the near-tie grid.
            prop_assert!(c.score <= previous + 0.01, "{}", decision);
            previous = c.score;
        }
        prop_assert!(decision.candidates.len() <= RouterConfig::default().top_k);
        prop_assert!(!decision.collaborators.iter().any(|c| Some(c) == decision.primary.as_ref()));
    }

    #[test]
    fn retaining_the_chosen_keeps_their_candidates_in_rank_order(
        (experts, request, _) in case()
    ) {
        let full = Router::new(&experts, RouterConfig::default()).unwrap().route(&request);
        let mut chosen = full.clone();
        chosen.retain_chosen();
        let is_chosen = |c: &consort_router::Candidate| full.experts().any(|e| *e == c.expert);
        let expected: Vec<_> = full.candidates.iter().filter(|c| is_chosen(c)).cloned().collect();
        if expected.is_empty() {
            // Nobody chosen was ranked: the best candidate explains why.
            prop_assert_eq!(&chosen.candidates[..], &full.candidates[..full.candidates.len().min(1)]);
        } else {
            prop_assert_eq!(&chosen.candidates, &expected);
        }
        // Nothing but the candidates changes.
        chosen.candidates = full.candidates.clone();
        prop_assert_eq!(chosen, full);
    }

    #[test]
    fn rounded_scores_are_written_with_at_most_the_decimals_asked_for(
        (experts, request, _) in case(),
        decimals in 0u8..=6,
    ) {
        let exact = Router::new(&experts, RouterConfig::default()).unwrap().route(&request);
        let mut rounded = exact.clone();
        rounded.round_scores(decimals);
        let half_step = 0.5 * 10f64.powi(-i32::from(decimals)) + 1e-12;
        for (c, r) in exact.candidates.iter().zip(&rounded.candidates) {
            let (b, rb) = (&c.breakdown, &r.breakdown);
            let pairs = [
                (c.score, r.score),
                (b.domain, rb.domain),
                (b.capability, rb.capability),
                (b.complexity, rb.complexity),
                (b.context, rb.context),
                (b.availability, rb.availability),
                (b.learned, rb.learned),
                (b.semantic, rb.semantic),
            ];
            for (before, after) in pairs {
                prop_assert!((before - after).abs() <= half_step, "{} -> {}", before, after);
                let text = serde_json::to_string(&after).unwrap();
                let written = text.split_once('.').map_or(0, |(_, d)| d.len());
                prop_assert!(written <= usize::from(decimals.max(1)), "{} written as {}", after, text);
            }
        }
        // Nothing but the scores changes.
        rounded.candidates = exact.candidates.clone();
        prop_assert_eq!(rounded, exact);
    }
}
