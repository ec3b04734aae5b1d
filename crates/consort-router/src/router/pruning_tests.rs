//! Pruning against exhaustive scoring: skipping the experts whose bounds
//! rule them out must not change any decision.

use consort_protocol::ExpertProfile;
use proptest::prelude::*;

use super::test_strategies::{Parity, WORDS, case, exhaustive};
use crate::{RouteRequest, Router, RouterConfig};

proptest! {
    #[test]
    fn pruning_never_changes_a_decision((experts, config, requests) in case()) {
        let pruned = Router::new(&experts, config.clone()).unwrap();
        let full = exhaustive(Router::new(&experts, config).unwrap());
        for request in &requests {
            let (a, b) = (pruned.route(request), full.route(request));
            // Debug output too: it tells 0.0 from -0.0.
            prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn pruning_never_changes_a_decision_with_extra_signals((experts, config, requests) in case()) {
        let pruned = Router::new(&experts, config.clone()).unwrap().with_signal(Parity, 0.2).unwrap();
        let full = exhaustive(Router::new(&experts, config).unwrap().with_signal(Parity, 0.2).unwrap());
        for request in &requests {
            prop_assert_eq!(pruned.route(request), full.route(request));
        }
    }
}

#[test]
fn pruning_keeps_decisions_over_a_large_registry() {
    // 2,000 experts over a 26-word vocabulary: every word is common, and a
    // request touches most of the registry, the case pruning is for.
    let experts: Vec<ExpertProfile> = (0..2_000_usize)
        .map(|i| {
            let pick = |k: usize| WORDS[(i * 7 + k * 13 + i / 5) % WORDS.len()];
            let mut p = ExpertProfile::new(
                format!("expert_{i:04}"),
                vec![pick(0).to_owned(), pick(1).to_owned()],
            );
            p.collaboration_capabilities = vec![format!("{}_{}", pick(2), pick(3))];
            p.keywords = vec![pick(4).to_owned()];
            p
        })
        .collect();
    let pruned = Router::new(&experts, RouterConfig::default()).unwrap();
    let full = exhaustive(Router::new(&experts, RouterConfig::default()).unwrap());
    for text in [
        "review the budget and the campaign timeline",
        "tax audit risk",
        "brand design and logo review with sales",
        "hiring culture talent strategy planning meeting",
    ] {
        let request = RouteRequest::new(text);
        assert_eq!(pruned.route(&request), full.route(&request), "{text}");
    }
}
