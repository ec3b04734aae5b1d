//! Behaviour of the router on the seed registry and on small hand-made
//! registries: acceptance cases, availability, context, abstain, ties,
//! configuration errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use consort_protocol::{
    Availability, ComplexityLevel, ComplexityRange, ExpertProfile, PriorityLevel, load_registry,
    seeds,
};
use consort_router::{
    FallbackReason, RouteContext, RouteDecision, RouteOutcome, RouteRequest, Router, RouterConfig,
    RouterError, Signal, Weights,
};

fn seed() -> Vec<ExpertProfile> {
    load_registry(seeds::EXPERT_REGISTRY).unwrap()
}

fn router(experts: &[ExpertProfile]) -> Router {
    Router::new(experts, RouterConfig::default()).unwrap()
}

fn involved(decision: &RouteDecision) -> Vec<&str> {
    decision.experts().map(|e| e.as_str()).collect()
}

fn expert(id: &str, domains: &[&str]) -> ExpertProfile {
    ExpertProfile::new(id, domains.iter().map(|d| (*d).to_owned()).collect())
}

#[test]
fn spec_acceptance_campaign_with_budget_needs_marketing_and_finance() {
    let decision = router(&seed()).route(&RouteRequest::new(
        "Plan a campaign and check the budget with finance",
    ));
    assert_eq!(decision.outcome, RouteOutcome::Routed);
    assert!(decision.requires_collaboration, "{decision}");
    let who = involved(&decision);
    assert!(who.contains(&"marketing_sales"), "{decision}");
    assert!(who.contains(&"finance_accountant"), "{decision}");
}

#[test]
fn a_follow_up_stays_with_the_previous_expert() {
    let router = router(&seed());
    for text in ["yes, go ahead", "ok do it", "sounds good, thanks"] {
        let context = RouteContext::default().with_previous_expert("art_design");
        let decision = router.route(&RouteRequest::new(text).with_context(context));
        assert_eq!(
            decision.primary.as_deref(),
            Some("art_design"),
            "{text}: {decision}"
        );
        assert_eq!(decision.outcome, RouteOutcome::Routed);
        assert!(decision.follow_up);
        assert!(decision.collaborators.is_empty());
        let top = decision
            .candidates
            .iter()
            .find(|c| c.expert == "art_design")
            .unwrap();
        assert_eq!(top.breakdown.context, 1.0);
    }
}

#[test]
fn strong_domain_terms_leave_the_previous_expert() {
    let context = RouteContext::default().with_previous_expert("art_design");
    let decision = router(&seed())
        .route(&RouteRequest::new("what tax do we owe on accounting fees").with_context(context));
    assert!(!decision.follow_up);
    assert_eq!(
        decision.primary.as_deref(),
        Some("finance_accountant"),
        "{decision}"
    );
}

#[test]
fn a_follow_up_is_not_kept_with_an_offline_previous_expert() {
    let context = RouteContext::default()
        .with_previous_expert("art_design")
        .with_availability([("art_design", Availability::Offline)]);
    let decision = router(&seed()).route(&RouteRequest::new("yes, go ahead").with_context(context));
    assert!(!decision.follow_up);
    assert_ne!(decision.primary.as_deref(), Some("art_design"));
}

#[test]
fn single_domain_requests_route_to_one_expert() {
    let router = router(&seed());
    for (text, want) in [
        ("I need help with tax accounting", "finance_accountant"),
        (
            "review this contract for intellectual property issues",
            "legal_consultant",
        ),
        (
            "improve our company culture and talent retention",
            "hr_people_ops",
        ),
        ("create a visual design for the new ui", "art_design"),
    ] {
        let decision = router.route(&RouteRequest::new(text));
        assert_eq!(
            decision.primary.as_deref(),
            Some(want),
            "{text}: {decision}"
        );
        assert!(!decision.requires_collaboration, "{text}: {decision}");
    }
}

#[test]
fn nothing_relevant_goes_to_the_coordinator_and_says_why() {
    let experts = seed();
    let router = router(&experts);
    let decision = router.route(&RouteRequest::new("hello there"));
    assert_eq!(decision.outcome, RouteOutcome::Fallback, "{decision}");
    assert_eq!(decision.primary.as_deref(), Some("personal_assistant"));
    assert_eq!(decision.fallback, Some(FallbackReason::Coordinator));
    assert!(
        decision
            .to_string()
            .contains("coordinator personal_assistant"),
        "{decision}"
    );
    // The issue's example once needed the fallback; calendar words in the
    // related-terms table now route it on evidence.
    let decision = router.route(&RouteRequest::new(
        "Move my 3pm with Dana to Thursday morning",
    ));
    assert_eq!(decision.outcome, RouteOutcome::Routed, "{decision}");
    assert_eq!(decision.primary.as_deref(), Some("personal_assistant"));

    let offline =
        RouteContext::default().with_availability([("personal_assistant", Availability::Offline)]);
    let decision = router.route(&RouteRequest::new("hello there").with_context(offline));
    assert_eq!(decision.outcome, RouteOutcome::NoMatch, "{decision}");
    assert_eq!(decision.primary, None, "an offline coordinator is not used");
}

#[test]
fn abstention_stays_available() {
    let experts = seed();
    let config = RouterConfig::default().with_coordinator_fallback(false);
    let decision = Router::new(&experts, config)
        .unwrap()
        .route(&RouteRequest::new("hello there"));
    assert_eq!(decision.outcome, RouteOutcome::NoMatch);
    assert_eq!(decision.primary, None);
    assert_eq!(decision.fallback, None);
}

#[test]
fn a_configured_fallback_expert_comes_first() {
    let experts = seed();
    let config = RouterConfig::default().with_fallback_expert("project_management");
    let with_fallback = Router::new(&experts, config).unwrap();
    let decision = with_fallback.route(&RouteRequest::new("hello there"));
    assert_eq!(decision.outcome, RouteOutcome::Fallback);
    assert_eq!(decision.primary.as_deref(), Some("project_management"));
    assert_eq!(decision.fallback, Some(FallbackReason::FallbackExpert));

    let offline =
        RouteContext::default().with_availability([("project_management", Availability::Offline)]);
    let decision = with_fallback.route(&RouteRequest::new("hello there").with_context(offline));
    assert_eq!(decision.primary, None, "an offline fallback is not used");
}

#[test]
fn offline_experts_are_never_candidates() {
    let mut experts = seed();
    for e in &mut experts {
        if e.id == "finance_accountant" {
            e.availability_status = Availability::Offline;
        }
    }
    let decision = router(&experts).route(&RouteRequest::new("tax accounting budget"));
    assert!(
        decision
            .candidates
            .iter()
            .all(|c| c.expert != "finance_accountant")
    );
    assert_ne!(decision.primary.as_deref(), Some("finance_accountant"));
}

#[test]
fn live_overrides_apply_without_rebuilding() {
    let router = router(&seed());
    let text = "tax accounting budget";
    let mut context = RouteContext::default();
    context
        .availability
        .insert("finance_accountant".into(), Availability::Busy);
    let busy = router.route(&RouteRequest::new(text).with_context(context.clone()));
    let top = &busy.candidates[0];
    assert_eq!(top.expert, "finance_accountant");
    assert!((top.breakdown.availability - 0.7).abs() < 1e-9);

    context
        .availability
        .insert("finance_accountant".into(), Availability::Offline);
    let offline = router.route(&RouteRequest::new(text).with_context(context));
    assert!(
        offline
            .candidates
            .iter()
            .all(|c| c.expert != "finance_accountant")
    );
}

#[test]
fn load_lowers_the_availability_factor_down_to_the_busy_level() {
    let mut a = expert("alpha", &["payments"]);
    a.max_concurrent = Some(4);
    let router = router(&[a]);
    let factor = |load: u32| {
        let context = RouteContext::default().with_load([("alpha", load)]);
        router
            .route(&RouteRequest::new("payments").with_context(context))
            .candidates[0]
            .breakdown
            .availability
    };
    assert_eq!(factor(0), 1.0);
    assert!((factor(2) - 0.85).abs() < 1e-9);
    assert!((factor(4) - 0.7).abs() < 1e-9);
    assert!(
        (factor(9) - 0.7).abs() < 1e-9,
        "over capacity is treated like busy"
    );
}

#[test]
fn near_ties_go_to_the_faster_expert_then_priority_then_id() {
    let mut slow = expert("a_slow", &["payments"]);
    slow.response_time_sla = std::time::Duration::from_secs(5);
    let mut fast = expert("b_fast", &["payments"]);
    fast.response_time_sla = std::time::Duration::from_secs(1);
    let decision = router(&[slow.clone(), fast.clone()]).route(&RouteRequest::new("payments"));
    assert_eq!(decision.primary.as_deref(), Some("b_fast"));

    fast.response_time_sla = slow.response_time_sla;
    fast.priority_level = PriorityLevel::High;
    let decision = router(&[slow.clone(), fast.clone()]).route(&RouteRequest::new("payments"));
    assert_eq!(decision.primary.as_deref(), Some("b_fast"));

    fast.priority_level = slow.priority_level;
    let decision = router(&[fast, slow]).route(&RouteRequest::new("payments"));
    assert_eq!(
        decision.primary.as_deref(),
        Some("a_slow"),
        "ids break exact ties"
    );
}

#[test]
fn declared_complexity_ranges_are_matched() {
    let mut simple = expert("simple", &["payments"]);
    simple.complexity_range =
        Some(ComplexityRange::new(ComplexityLevel::Low, ComplexityLevel::Low).unwrap());
    let mut deep = expert("deep", &["payments"]);
    deep.complexity_range =
        Some(ComplexityRange::new(ComplexityLevel::High, ComplexityLevel::High).unwrap());
    let decision = router(&[simple, deep]).route(&RouteRequest::new("payments"));
    assert_eq!(decision.complexity, ComplexityLevel::Low);
    assert_eq!(decision.primary.as_deref(), Some("simple"));
    let by_id = |id: &str| decision.candidates.iter().find(|c| c.expert == id).unwrap();
    assert_eq!(by_id("simple").breakdown.complexity, 1.0);
    assert_eq!(by_id("deep").breakdown.complexity, 0.0);
}

#[test]
fn multi_word_keywords_match_as_phrases() {
    let mut cash = expert("cash", &["treasury"]);
    cash.keywords = vec!["cash flow".into()];
    let mut flow = expert("flow", &["workflow"]);
    flow.keywords = vec!["flow".into(), "cash".into()];
    let decision = router(&[cash, flow]).route(&RouteRequest::new("our cash flow is tight"));
    assert_eq!(decision.primary.as_deref(), Some("cash"), "{decision}");
    assert!(
        decision.candidates[0]
            .matched_terms
            .contains(&"cash flow".to_owned())
    );
}

#[test]
fn shared_data_and_collaborators_raise_context() {
    let router = router(&seed());
    let context = RouteContext::default()
        .with_collaborators(["marketing_sales"])
        .with_shared_data(["Budget-Constraints"]);
    let decision = router.route(&RouteRequest::new("review the numbers").with_context(context));
    let by_id = |id: &str| decision.candidates.iter().find(|c| c.expert == id).unwrap();
    assert!((by_id("finance_accountant").breakdown.context - 0.5).abs() < 1e-9);
    assert!((by_id("marketing_sales").breakdown.context - 0.3).abs() < 1e-9);
}

#[test]
fn coordination_requests_are_led_by_the_coordinator() {
    let decision = router(&seed()).route(&RouteRequest::new(
        "coordinate the tax accounting work with the legal contracts review and schedule it",
    ));
    assert!(decision.requires_collaboration, "{decision}");
    assert_eq!(
        decision.primary.as_deref(),
        Some("personal_assistant"),
        "{decision}"
    );
    assert!(involved(&decision).contains(&"finance_accountant"));
    assert!(involved(&decision).contains(&"legal_consultant"));
}

#[test]
fn explain_names_the_experts_and_signals() {
    let decision = router(&seed()).route(&RouteRequest::new("tax accounting"));
    let text = decision.explain();
    assert!(text.starts_with("routed to finance_accountant"), "{text}");
    assert!(
        text.contains("domain") && text.contains("[tax, accounting]"),
        "{text}"
    );
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(json["outcome"], "routed");
    assert_eq!(json["candidates"][0]["breakdown"]["availability"], 1.0);
}

struct Constant(f64);

impl Signal for Constant {
    fn name(&self) -> &str {
        "constant"
    }
    fn score(&self, _: &RouteRequest, expert: &ExpertProfile) -> f64 {
        if expert.id == "hr_people_ops" {
            self.0
        } else {
            0.0
        }
    }
}

#[test]
fn extra_signals_are_weighted_clamped_and_reported() {
    let router = router(&seed()).with_signal(Constant(7.0), 10.0).unwrap();
    let decision = router.route(&RouteRequest::new("hello there"));
    let top = &decision.candidates[0];
    assert_eq!(top.expert, "hr_people_ops");
    assert_eq!(
        top.breakdown.extra["constant"], 1.0,
        "scores are clamped to 1"
    );
    assert!(top.score <= 1.0);
    let err = router.with_signal(Constant(0.5), 1.0).unwrap_err();
    assert_eq!(
        err,
        RouterError::DuplicateSignal {
            name: "constant".into()
        }
    );
}

#[test]
fn bad_configuration_is_a_typed_error() {
    let experts = seed();
    let config = RouterConfig::default().with_weights(Weights::default().with_domain(-1.0));
    assert!(matches!(
        Router::new(&experts, config).unwrap_err(),
        RouterError::InvalidWeight { ref signal, .. } if signal == "domain"
    ));
    let zero = Weights::default()
        .with_domain(0.0)
        .with_capability(0.0)
        .with_complexity(0.0)
        .with_context(0.0);
    let config = RouterConfig::default().with_weights(zero);
    assert_eq!(
        Router::new(&experts, config).unwrap_err(),
        RouterError::ZeroWeights
    );
    let config = RouterConfig::default().with_weights(Weights::default().with_context(f64::NAN));
    assert!(Router::new(&experts, config).is_err());
    let config = RouterConfig::default().with_fallback_expert("nobody");
    let err = Router::new(&experts, config).unwrap_err();
    assert!(err.to_string().contains("nobody"), "{err}");
    let config = RouterConfig::default().with_min_score(1.5);
    assert!(matches!(
        Router::new(&experts, config).unwrap_err(),
        RouterError::InvalidConfig {
            field: "min_score",
            ..
        }
    ));
    let mut bad = experts;
    bad[0].expertise_domains.clear();
    let err = Router::new(&bad, RouterConfig::default()).unwrap_err();
    assert!(err.to_string().contains(bad[0].id.as_str()), "{err}");
    let cause = std::error::Error::source(&err).expect("the protocol error is kept as the source");
    assert!(cause.to_string().contains("expertise_domains"), "{cause}");
}

#[test]
fn weights_only_matter_as_ratios() {
    let experts = seed();
    let text = RouteRequest::new("Plan a campaign and check the budget with finance");
    let base = router(&experts).route(&text);
    let weights = Weights::default()
        .with_domain(4.0)
        .with_capability(3.0)
        .with_complexity(2.0)
        .with_context(1.0);
    let config = RouterConfig::default().with_weights(weights);
    let scaled = Router::new(&experts, config).unwrap().route(&text);
    assert_eq!(base.primary, scaled.primary);
    for (a, b) in base.candidates.iter().zip(&scaled.candidates) {
        assert!((a.score - b.score).abs() < 1e-9);
    }
}

#[test]
fn updating_profiles_rebuilds_the_index() {
    let mut router = router(&seed());
    let mut extra = expert("payments_desk", &["payments"]);
    extra.keywords = vec!["chargeback".into()];
    let mut experts = seed();
    experts.push(extra);
    router.update_profiles(&experts).unwrap();
    let decision = router.route(&RouteRequest::new("dispute a chargeback"));
    assert_eq!(
        decision.primary.as_deref(),
        Some("payments_desk"),
        "{decision}"
    );
    assert_eq!(router.profiles().len(), 9);
}

#[test]
fn common_terms_still_count_for_experts_found_by_rarer_terms() {
    let mut experts: Vec<ExpertProfile> = (0..200)
        .map(|i| expert(&format!("generalist_{i:03}"), &["operations"]))
        .collect();
    experts.push(expert("specialist", &["operations", "chargebacks"]));
    experts.push(expert("narrow", &["chargebacks"]));
    let router = router(&experts);
    let decision = router.route(&RouteRequest::new("operations chargebacks"));
    assert_eq!(
        decision.primary.as_deref(),
        Some("specialist"),
        "{decision}"
    );
    assert_eq!(
        decision.candidates[0].matched_terms,
        ["operations", "chargebacks"]
    );
    // Alone, a common term still finds its experts (though a term nearly
    // every expert has is too weak to route on).
    let decision = router.route(&RouteRequest::new("operations"));
    assert_eq!(decision.candidates.len(), 5, "{decision}");
    assert!(
        decision
            .candidates
            .iter()
            .all(|c| c.matched_terms == ["operations"])
    );
}

#[test]
fn settings_in_json_are_strict_and_default_the_rest() {
    let config: RouterConfig =
        serde_json::from_str(r#"{"min_score": 0.3, "weights": {"context": 0.2}}"#).unwrap();
    assert_eq!(
        config,
        RouterConfig::default()
            .with_min_score(0.3)
            .with_weights(Weights::default().with_context(0.2))
    );
    let typo = serde_json::from_str::<RouterConfig>(r#"{"min_scor": 0.3}"#).unwrap_err();
    assert!(typo.to_string().contains("min_scor"), "{typo}");
    let typo = serde_json::from_str::<RouterConfig>(r#"{"weights": {"domian": 1}}"#).unwrap_err();
    assert!(typo.to_string().contains("domian"), "{typo}");
    let typo = serde_json::from_str::<RouteRequest>(r#"{"text": "hi", "contxt": {}}"#).unwrap_err();
    assert!(typo.to_string().contains("contxt"), "{typo}");
}

#[test]
fn check_context_names_the_field_and_the_unknown_id() {
    let router = router(&seed());
    let valid = RouteContext::default()
        .with_previous_expert("legal_consultant")
        .with_collaborators(["art_design"])
        .with_availability([("hr_people_ops", Availability::Busy)])
        .with_load([("finance_accountant", 2)]);
    router.check_context(&valid).unwrap();
    router.check_context(&RouteContext::default()).unwrap();

    let cases = [
        (
            valid.clone().with_previous_expert("legal"),
            "previous_expert",
            "legal",
            Some("legal_consultant"),
        ),
        (
            valid
                .clone()
                .with_availability([("art_desing", Availability::Offline)]),
            "availability.art_desing",
            "art_desing",
            Some("art_design"),
        ),
        (valid.with_load([("zebra", 1)]), "load.zebra", "zebra", None),
    ];
    for (context, want_path, want_expert, want_suggestion) in cases {
        match router.check_context(&context).unwrap_err() {
            RouterError::UnknownContextExpert {
                path,
                expert,
                suggestion,
            } => {
                assert_eq!(path, want_path);
                assert_eq!(expert, want_expert);
                assert_eq!(suggestion.as_deref(), want_suggestion);
            }
            other => panic!("unexpected error {other}"),
        }
    }
}
