//! Learned corrections: replay gives identical routers, pruning stays
//! exact with them, and one bad correction cannot take over an expert.

use consort_protocol::{ExpertProfile, load_registry, seeds};
use proptest::prelude::*;

use super::test_strategies::{REQUEST_WORDS, WORDS, case, exhaustive, word};
use crate::{Correction, RouteRequest, Router, RouterConfig};

/// Corrections over the registry's experts, in users' words and the
/// profiles' words, some with words no profile has.
fn corrections(experts: usize) -> impl Strategy<Value = Vec<Correction>> {
    let text = prop::collection::vec(
        prop_oneof![
            word(REQUEST_WORDS),
            word(WORDS),
            Just("dana".to_owned()),
            Just("3pm".to_owned()),
        ],
        0..8,
    );
    prop::collection::vec(
        (text, 0..experts.max(1))
            .prop_map(|(words, n)| Correction::new(words.join(" "), format!("expert_{n:03}"))),
        0..12,
    )
}

fn taught(experts: &[ExpertProfile], config: &RouterConfig, log: &[Correction]) -> Router {
    let mut router = Router::new(experts, config.clone()).unwrap();
    for correction in log {
        router.learn(correction).unwrap();
    }
    router
}

proptest! {
    #[test]
    fn replaying_the_log_gives_the_same_router(
        ((experts, config, requests), log) in case().prop_flat_map(|c| {
            let n = c.0.len();
            (Just(c), corrections(n))
        }),
    ) {
        let first = taught(&experts, &config, &log);
        let mut reversed = experts.clone();
        reversed.reverse();
        let replayed = taught(&reversed, &config, &log);
        // Learning, then rebuilding from the same profiles, keeps it all.
        let mut rebuilt = taught(&experts, &config, &log);
        rebuilt.update_profiles(&experts).unwrap();
        prop_assert_eq!(first.learned_corrections(), log.len() as u64);
        for request in &requests {
            let decision = first.route(request);
            prop_assert_eq!(&decision, &replayed.route(request));
            prop_assert_eq!(&decision, &rebuilt.route(request));
        }
    }

    #[test]
    fn pruning_never_changes_a_decision_after_learning(
        ((experts, config, requests), log) in case().prop_flat_map(|c| {
            let n = c.0.len();
            (Just(c), corrections(n))
        }),
    ) {
        let pruned = taught(&experts, &config, &log);
        let full = exhaustive(taught(&experts, &config, &log));
        for request in &requests {
            prop_assert_eq!(pruned.route(request), full.route(request));
        }
    }
}

#[test]
fn one_bad_correction_cannot_take_over_an_expert() {
    let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let mut router = Router::new(&experts, RouterConfig::default()).unwrap();
    router
        .learn(&Correction::new(
            "Review the liability clause of this contract",
            "art_design",
        ))
        .unwrap();
    let decision = router.route(&RouteRequest::new(
        "Review the liability clause of the supplier contract",
    ));
    assert_eq!(
        decision.primary.as_deref(),
        Some("legal_consultant"),
        "{decision}"
    );
    let design = decision
        .candidates
        .iter()
        .find(|c| c.expert == "art_design")
        .unwrap();
    assert!(design.breakdown.learned > 0.0, "{decision}");
    assert!(
        design.matched_terms.iter().any(|t| t == "clause (learned)"),
        "{decision}"
    );
}

#[test]
fn learning_an_unknown_expert_is_an_error_and_teaches_nothing() {
    let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let mut router = Router::new(&experts, RouterConfig::default()).unwrap();
    let request = RouteRequest::new("Move my 3pm with Dana");
    let before = router.route(&request);
    let err = router
        .learn(&Correction::new("Move my 3pm with Dana", "assistant"))
        .unwrap_err();
    assert!(err.to_string().contains("assistant"), "{err}");
    assert_eq!(router.learned_corrections(), 0);
    assert_eq!(router.route(&request), before);
}

#[test]
fn corrections_teach_words_no_profile_has() {
    let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    let mut router = Router::new(&experts, RouterConfig::default()).unwrap();
    for text in [
        "Move my 3pm with Dana to Thursday",
        "Can Dana do 3pm on Friday instead?",
    ] {
        router
            .learn(&Correction::new(text, "project_management"))
            .unwrap();
    }
    let decision = router.route(&RouteRequest::new("Is Dana free at 3pm?"));
    assert_eq!(
        decision.primary.as_deref(),
        Some("project_management"),
        "{decision}"
    );
}
