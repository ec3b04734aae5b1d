//! Random registries, settings and requests for the router's white-box
//! property tests (pruning, live status).

use std::time::Duration;

use consort_protocol::{
    Availability, ComplexityLevel, ComplexityRange, ExpertProfile, PriorityLevel,
};
use proptest::prelude::*;

use super::Router;
use crate::{RouteContext, RouteRequest, RouterConfig, Signal};

/// Skewed on purpose: the first words land in most profiles, so larger
/// registries have common terms, many touched experts and near-ties.
pub(super) const WORDS: &[&str] = &[
    "budget", "budget", "budget", "campaign", "campaign", "design", "tax", "contract", "law",
    "hiring", "culture", "risk", "planning", "market", "sales", "brand", "cash", "flow", "review",
    "timeline", "talent", "strategy", "invoice", "logo", "meeting", "audit",
];
pub(super) const REQUEST_WORDS: &[&str] = &[
    "budget", "campaign", "design", "tax", "contract", "law", "lawyer", "invoice", "logo", "cash",
    "flow", "review", "risk", "hiring", "and", "the", "must", "together", "yes", "ok", "people",
    "look", "year", "money",
];

pub(super) fn word(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(words).prop_map(str::to_owned)
}

pub(super) fn level() -> impl Strategy<Value = ComplexityLevel> {
    prop::sample::select(
        &[
            ComplexityLevel::Low,
            ComplexityLevel::Medium,
            ComplexityLevel::High,
        ][..],
    )
}

pub(super) fn availability() -> impl Strategy<Value = Availability> {
    prop::sample::select(
        &[
            Availability::Available,
            Availability::Available,
            Availability::Busy,
            Availability::Offline,
        ][..],
    )
}

pub(super) fn profile(id: String) -> impl Strategy<Value = ExpertProfile> {
    let entry = || (word(WORDS), word(WORDS)).prop_map(|(a, b)| format!("{a}_{b}"));
    (
        (
            prop::collection::vec(word(WORDS), 1..4),
            prop::collection::vec(entry(), 0..3),
            prop::collection::vec(word(WORDS), 0..3),
            prop::collection::vec(entry(), 0..2),
            prop::option::of(prop::collection::vec(word(WORDS), 1..5)),
        ),
        (
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
            1_u64..4,
            prop::option::of((level(), level())),
        ),
    )
        .prop_map(move |(words, (status, load, max, priority, sla, range))| {
            let (domains, capabilities, keywords, data, description) = words;
            let mut p = ExpertProfile::new(id.clone(), domains);
            p.collaboration_capabilities = capabilities;
            p.keywords = keywords;
            p.data_sharing = data;
            p.description = description.map(|d| d.join(" "));
            p.availability_status = status;
            p.current_load = load;
            p.max_concurrent = max;
            p.priority_level = priority;
            p.response_time_sla = Duration::from_secs(sla);
            p.complexity_range =
                range.map(|(a, b)| ComplexityRange::new(a.min(b), a.max(b)).unwrap());
            p
        })
}

/// Up to 150 experts: past 64 experts the most frequent words are common.
pub(super) fn registry() -> impl Strategy<Value = Vec<ExpertProfile>> {
    (1_usize..150).prop_flat_map(|n| {
        (0..n)
            .map(|i| profile(format!("expert_{i:03}")))
            .collect::<Vec<_>>()
    })
}

pub(super) fn config() -> impl Strategy<Value = RouterConfig> {
    (
        (0.01_f64..1.0, 0.0_f64..1.0, 0.0_f64..1.0, 0.0_f64..1.0),
        (1_usize..8, 0_usize..5, 0.0_f64..0.5),
        prop::sample::select(&[1e-12, 1e-4, 0.01, 0.05, 1.0][..]),
        prop::sample::select(&[0.0, 0.3, 0.45, 0.7, 1.0][..]),
        (0.0_f64..1.0, 0.0_f64..1.0, 0.0_f64..1.0, any::<bool>()),
        (0.0_f64..2.0, any::<bool>(), 1_usize..4, any::<bool>()),
    )
        .prop_map(
            |(weights, (top_k, collaborators, min_score), tie, strong, rest, levers)| {
                let mut c = RouterConfig::default();
                (
                    c.weights.domain,
                    c.weights.capability,
                    c.weights.complexity,
                    c.weights.context,
                ) = weights;
                c.top_k = top_k;
                c.max_collaborators = collaborators;
                c.min_score = min_score;
                c.tie_epsilon = tie;
                c.strong_relevance = strong;
                (
                    c.busy_factor,
                    c.load_penalty,
                    c.unknown_complexity_fit,
                    c.related_terms,
                ) = rest;
                (
                    c.phrase_weight,
                    c.word_frequency_prior,
                    c.min_related_matches,
                    c.coordinator_fallback,
                ) = levers;
                c
            },
        )
}

pub(super) fn request(experts: usize) -> impl Strategy<Value = RouteRequest> {
    let id = move || {
        (0..experts.max(1)).prop_map(|i| consort_protocol::ExpertId::from(format!("expert_{i:03}")))
    };
    (
        prop::collection::vec(word(REQUEST_WORDS), 0..14),
        prop::option::of(id()),
        prop::collection::vec(id(), 0..3),
        prop::collection::vec(
            (word(WORDS), word(WORDS)).prop_map(|(a, b)| format!("{a}_{b}")),
            0..2,
        ),
        prop::collection::btree_map(id(), availability(), 0..3),
        prop::collection::btree_map(id(), 0_u32..8, 0..2),
    )
        .prop_map(
            |(words, previous_expert, collaborators, shared_data, availability, load)| {
                RouteRequest::new(words.join(" ")).with_context(RouteContext {
                    previous_expert,
                    collaborators,
                    shared_data,
                    availability,
                    load,
                })
            },
        )
}

pub(super) fn case() -> impl Strategy<Value = (Vec<ExpertProfile>, RouterConfig, Vec<RouteRequest>)>
{
    (registry(), config()).prop_flat_map(|(experts, config)| {
        let n = experts.len();
        (
            Just(experts),
            Just(config),
            prop::collection::vec(request(n), 1..4),
        )
    })
}

pub(super) fn exhaustive(mut router: Router) -> Router {
    router.pruning = false;
    router
}

/// Prefers experts by id parity: a signal the bounds know nothing about.
pub(super) struct Parity;

impl Signal for Parity {
    fn name(&self) -> &str {
        "parity"
    }
    fn score(&self, _: &RouteRequest, expert: &ExpertProfile) -> f64 {
        f64::from(u8::from(expert.id.ends_with(['0', '2', '4', '6', '8'])))
    }
}
