//! Every detector and default strategy, through the public API.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod common;

use std::collections::BTreeMap;

use common::*;
use consort_conflict::{
    BUDGET_DISAGREEMENT, ConflictError, ConflictKind, Policy, ProportionalAllocation, Resolution,
    ResolveInput, Strategy, StrategyName,
};
use consort_protocol::{Priority, from_json_str};
use serde_json::json;

fn none() -> BTreeMap<String, f64> {
    BTreeMap::new()
}

#[test]
fn contradiction_is_settled_by_authority_times_confidence() {
    let r = resolver();
    let recs = [
        in_domain(
            rec("marketing_sales", "campaign_budget", 50_000, 0.85),
            "budgeting",
        ),
        in_domain(
            rec("finance_accountant", "campaign_budget", 30_000, 0.9),
            "budgeting",
        ),
    ];
    let report = r.resolve(&recs, &none()).unwrap();
    assert_eq!(report.conflicts.len(), 1);
    let c = &report.conflicts[0];
    assert_eq!(
        (c.kind, c.strategy.as_str(), c.escalated),
        (
            ConflictKind::DirectContradiction,
            "weighted_selection",
            false
        )
    );
    assert_eq!(c.selected.as_ref().unwrap().position, json!(30_000));
    assert_eq!(c.selected.as_ref().unwrap().experts, ["finance_accountant"]);

    let finance = r.authority("finance_accountant", "budgeting").unwrap() * 0.9;
    let marketing = r.authority("marketing_sales", "budgeting").unwrap() * 0.85;
    assert!(finance > marketing);
    let weights: Vec<f64> = c.alternatives.iter().map(|o| o.weight).collect();
    assert_eq!(weights, [finance, marketing]);
    assert!((c.alternatives[0].share - finance / (finance + marketing)).abs() < 1e-12);
    assert!(
        c.rationale.contains(&format!(
            "finance_accountant (authority 1.00 x confidence 0.90 = {finance:.2})"
        )),
        "{}",
        c.rationale
    );
    assert!(c.rationale.contains("marketing_sales"), "{}", c.rationale);
    assert_eq!(
        report.unified.decisions["campaign_budget"].position,
        json!(30_000)
    );
    assert_eq!(report.agreement_rate, 0.0);
    assert_eq!(report.automatic_resolution_rate, 1.0);
}

#[test]
fn a_narrow_margin_is_escalated_with_every_option_ranked() {
    // Both are authorities in marketing: 0.80 vs 0.70 is a 6.7% margin.
    let recs = [
        in_domain(
            rec("marketing_sales", "launch_channel", "tv", 0.7),
            "marketing",
        ),
        in_domain(
            rec("marketing_sales", "other_subject", "x", 0.7),
            "marketing",
        ),
        in_domain(
            rec(
                "digital_business_think_tank",
                "launch_channel",
                "social",
                0.8,
            ),
            "business_strategy",
        ),
    ];
    let policy = Policy::default().with_authority(
        consort_conflict::AuthorityTable::default()
            .with_collaboration(1.0)
            .with_other(1.0),
    );
    let r = consort_conflict::ConflictResolver::new(&experts(), policy).unwrap();
    let report = r.resolve(&recs, &none()).unwrap();
    let c = report
        .conflict(ConflictKind::DirectContradiction, "launch_channel")
        .unwrap();
    assert!(c.escalated);
    assert_eq!(c.strategy, StrategyName::HumanReview);
    assert!(c.selected.is_none());
    assert_eq!(c.alternatives.len(), 2);
    assert_eq!(c.alternatives[0].position, json!("social"));
    assert!(c.alternatives[0].weight > c.alternatives[1].weight);
    assert!(
        c.rationale.contains("margin 6.7% < 20.0%"),
        "{}",
        c.rationale
    );
    assert!(!report.unified.decisions.contains_key("launch_channel"));
    assert_eq!(report.unified.escalations[0].subject, "launch_channel");
    assert_eq!(report.automatic_resolution_rate, 0.0);
    assert_eq!(report.agreement_rate, 0.5);

    // The same margin clears a lower threshold.
    let lenient = consort_conflict::ConflictResolver::new(
        &experts(),
        r.policy().clone().with_min_margin(0.05),
    )
    .unwrap();
    let c = lenient.resolve(&recs, &none()).unwrap().conflicts.remove(0);
    assert_eq!(
        (c.strategy.as_str(), c.escalated),
        ("weighted_selection", false)
    );
}

#[test]
fn a_tie_is_escalated() {
    let recs = [
        in_domain(
            rec("legal_consultant", "data_retention", "5 years", 0.8),
            "compliance",
        ),
        in_domain(
            rec("hr_people_ops", "data_retention", "7 years", 0.8),
            "compliance",
        ),
    ];
    let report = resolver().resolve(&recs, &none()).unwrap();
    let c = &report.conflicts[0];
    assert!(c.escalated, "{c:?}");
    assert!(
        c.rationale.starts_with("tie on data_retention"),
        "{}",
        c.rationale
    );
    assert_eq!(c.alternatives[0].weight, c.alternatives[1].weight);
    assert!(report.unified.decisions.is_empty());
}

#[test]
fn zero_confidence_everywhere_is_a_tie() {
    let recs = [
        rec("legal_consultant", "x", 1, 0.0),
        rec("hr_people_ops", "x", 2, 0.0),
    ];
    let c = resolver()
        .resolve(&recs, &none())
        .unwrap()
        .conflicts
        .remove(0);
    assert!(
        c.escalated && c.rationale.starts_with("no weight on x"),
        "{}",
        c.rationale
    );
}

#[test]
fn several_experts_holding_most_of_the_weight_are_a_consensus() {
    let recs = [
        in_domain(
            rec("finance_accountant", "audit_scope", "full", 0.8),
            "compliance",
        ),
        in_domain(
            rec("legal_consultant", "audit_scope", "full", 0.8),
            "compliance",
        ),
        in_domain(
            rec("hr_people_ops", "audit_scope", "partial", 0.8),
            "compliance",
        ),
    ];
    let c = resolver()
        .resolve(&recs, &none())
        .unwrap()
        .conflicts
        .remove(0);
    assert_eq!((c.strategy.as_str(), c.escalated), ("consensus", false));
    assert!((c.alternatives[0].share - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(
        c.selected.unwrap().experts,
        ["finance_accountant", "legal_consultant"]
    );
    assert!(
        c.rationale.contains("holds 66.7% of the weight (>= 60.0%)"),
        "{}",
        c.rationale
    );
}

#[test]
fn an_expert_repeating_itself_counts_once() {
    let recs = [
        in_domain(
            rec("hr_people_ops", "audit_scope", "partial", 0.8),
            "compliance",
        ),
        in_domain(
            rec("hr_people_ops", "audit_scope", "partial", 0.8),
            "compliance",
        ),
        in_domain(
            rec("legal_consultant", "audit_scope", "full", 0.8),
            "compliance",
        ),
    ];
    let c = resolver()
        .resolve(&recs, &none())
        .unwrap()
        .conflicts
        .remove(0);
    assert!(
        c.escalated,
        "two copies of one voice must not outvote another: {c:?}"
    );
}

#[test]
fn numerically_equal_positions_agree() {
    let recs = [
        rec("finance_accountant", "campaign_budget", json!(30_000), 0.9),
        rec("legal_consultant", "campaign_budget", json!(30_000.0), 0.5),
    ];
    let report = resolver().resolve(&recs, &none()).unwrap();
    assert!(report.conflicts.is_empty());
    assert_eq!(report.agreement_rate, 1.0);
    let decision = &report.unified.decisions["campaign_budget"];
    assert_eq!(decision.strategy, Some(StrategyName::Unanimous));
    assert_eq!(decision.experts, ["finance_accountant", "legal_consultant"]);
    assert_eq!(decision.share, 1.0);
    let finance = resolver()
        .authority("finance_accountant", "campaign_budget")
        .unwrap();
    let legal = resolver()
        .authority("legal_consultant", "campaign_budget")
        .unwrap();
    assert!((decision.weight - (finance * 0.9 + legal * 0.5)).abs() < 1e-12);
}

#[test]
fn same_position_different_priority_follows_standing() {
    let recs = [
        with_priority(
            in_domain(
                rec("legal_consultant", "contract_review", "before signing", 0.9),
                "contracts",
            ),
            Priority::High,
        ),
        with_priority(
            in_domain(
                rec(
                    "finance_accountant",
                    "contract_review",
                    "before signing",
                    0.7,
                ),
                "contracts",
            ),
            Priority::Low,
        ),
        with_priority(
            in_domain(
                rec("art_design", "contract_review", "before signing", 1.0),
                "contracts",
            ),
            Priority::Medium,
        ),
    ];
    let report = resolver().resolve(&recs, &none()).unwrap();
    let c = report
        .conflict(ConflictKind::PriorityConflict, "contract_review")
        .unwrap();
    assert_eq!(
        (c.strategy.as_str(), c.escalated),
        ("priority_order", false)
    );
    let selected = c.selected.as_ref().unwrap();
    assert_eq!(selected.priority, Some(Priority::High));
    let ranked: Vec<Option<Priority>> = c.alternatives.iter().map(|o| o.priority).collect();
    assert_eq!(
        ranked,
        [
            Some(Priority::High),
            Some(Priority::Low),
            Some(Priority::Medium)
        ]
    );
    assert!(
        c.rationale
            .contains("legal_consultant (high, authority 1.00"),
        "{}",
        c.rationale
    );
    assert_eq!(
        report.unified.decisions["contract_review"].priority,
        Some(Priority::High)
    );
    // Agreement is about positions: these experts agree.
    assert_eq!(report.agreement_rate, 1.0);
}

#[test]
fn the_coordinator_outranks_a_more_confident_expert() {
    let recs = [
        with_priority(
            rec("personal_assistant", "kickoff", "monday", 0.5),
            Priority::Low,
        ),
        with_priority(
            rec("project_management", "kickoff", "monday", 1.0),
            Priority::High,
        ),
    ];
    let c = resolver()
        .resolve(&recs, &none())
        .unwrap()
        .conflicts
        .remove(0);
    assert_eq!(c.selected.unwrap().priority, Some(Priority::Low));
}

#[test]
fn a_priority_tie_is_escalated_but_the_position_stands() {
    let recs = [
        with_priority(
            in_domain(
                rec("legal_consultant", "policy_update", "yes", 0.8),
                "compliance",
            ),
            Priority::High,
        ),
        with_priority(
            in_domain(
                rec("finance_accountant", "policy_update", "yes", 0.8),
                "compliance",
            ),
            Priority::Low,
        ),
    ];
    let report = resolver().resolve(&recs, &none()).unwrap();
    let c = &report.conflicts[0];
    assert!(c.escalated && c.selected.is_none(), "{c:?}");
    let d = &report.unified.decisions["policy_update"];
    assert_eq!(
        (d.priority, d.strategy.clone()),
        (Some(Priority::High), Some(StrategyName::HumanReview))
    );
    assert_eq!(report.unified.escalations.len(), 1);
}

#[test]
fn a_precedence_cycle_is_broken_by_standing() {
    let recs = [
        preceding(
            in_domain(
                rec("finance_accountant", "budget_approval", "approve", 0.9),
                "budgeting",
            ),
            "campaign_launch",
        ),
        preceding(
            rec("marketing_sales", "campaign_launch", "march", 0.8),
            "budget_approval",
        ),
        preceding(
            rec("art_design", "asset_review", "weekly", 0.8),
            "campaign_launch",
        ),
    ];
    let report = resolver().resolve(&recs, &none()).unwrap();
    let c = report
        .conflict(
            ConflictKind::PriorityConflict,
            "budget_approval <-> campaign_launch",
        )
        .unwrap();
    assert_eq!(
        (c.strategy.as_str(), c.escalated),
        ("priority_order", false)
    );
    let selected = c.selected.as_ref().unwrap();
    assert_eq!(
        selected.position,
        json!(["budget_approval", "campaign_launch"])
    );
    assert_eq!(selected.experts, ["finance_accountant"]);
    assert!(c.rationale.contains("marketing_sales (high, authority 1.00, confidence 0.80) says campaign_launch precedes budget_approval, outranked by finance_accountant"), "{}", c.rationale);
    // The claim outside the cycle is no conflict.
    assert_eq!(report.conflicts.len(), 1);
}

#[test]
fn a_cycle_between_equals_is_escalated() {
    let recs = [
        preceding(
            in_domain(rec("legal_consultant", "a_step", "x", 0.8), "compliance"),
            "b_step",
        ),
        preceding(
            in_domain(rec("finance_accountant", "b_step", "y", 0.8), "compliance"),
            "a_step",
        ),
    ];
    let c = resolver()
        .resolve(&recs, &none())
        .unwrap()
        .conflicts
        .remove(0);
    assert_eq!(c.kind, ConflictKind::PriorityConflict);
    assert!(
        c.escalated && c.rationale.contains("cannot break"),
        "{}",
        c.rationale
    );
    assert_eq!(c.alternatives.len(), 2);
}

#[test]
fn a_subject_preceding_itself_is_unclassified() {
    let recs = [preceding(
        rec("project_management", "kickoff", "monday", 0.9),
        "kickoff",
    )];
    let report = resolver().resolve(&recs, &none()).unwrap();
    let c = &report.conflicts[0];
    assert_eq!((c.kind, c.escalated), (ConflictKind::Unclassified, true));
    assert!(
        c.rationale.contains("must come before itself"),
        "{}",
        c.rationale
    );
    assert_eq!(
        report.unified.escalations[0].kind,
        ConflictKind::Unclassified
    );
}

#[test]
fn over_capacity_requests_are_shared_by_weight_and_capped() {
    let recs = [
        requesting(
            with_priority(
                rec("marketing_sales", "campaign_launch", "march", 0.8),
                Priority::High,
            ),
            "budget",
            50_000.0,
        ),
        requesting(
            rec("art_design", "brand_assets", "refresh", 0.9),
            "budget",
            20_000.0,
        ),
        requesting(
            rec("art_design", "brand_assets", "refresh", 0.9),
            "designer_hours",
            120.0,
        ),
    ];
    let caps = capacities(&[("budget", 60_000.0), ("designer_hours", 200.0)]);
    let report = resolver().resolve(&recs, &caps).unwrap();
    let c = report
        .conflict(ConflictKind::ResourceConflict, "budget")
        .unwrap();
    assert_eq!(
        (c.strategy.as_str(), c.escalated),
        ("proportional_allocation", false)
    );
    let budget = &c.allocations["budget"];
    // Fair shares 1.2 : 0.9 would give art_design 25,714, more than it asked
    // for; the rest goes to marketing_sales.
    assert_eq!(budget["art_design"], 20_000.0);
    assert_eq!(budget["marketing_sales"], 40_000.0);
    assert!(
        c.rationale
            .contains("70000 of budget requested, 60000 available"),
        "{}",
        c.rationale
    );
    assert_eq!(&report.unified.allocations["budget"], budget);
    assert_eq!(
        report.unified.allocations["designer_hours"]["art_design"],
        120.0
    );
    assert_eq!(report.conflicts.len(), 1);
}

#[test]
fn a_resource_without_capacity_is_unclassified_only_when_capacities_are_given() {
    let recs = [requesting(
        rec("hr_people_ops", "hiring", "two", 0.9),
        "headcount",
        2.0,
    )];
    let report = resolver()
        .resolve(&recs, &capacities(&[("budget", 1.0)]))
        .unwrap();
    let c = &report.conflicts[0];
    assert_eq!(
        (c.kind, c.subject.as_str(), c.escalated),
        (ConflictKind::Unclassified, "headcount", true)
    );
    assert!(!report.unified.allocations.contains_key("headcount"));

    let report = resolver().resolve(&recs, &none()).unwrap();
    assert!(report.conflicts.is_empty());
    assert_eq!(
        report.unified.allocations["headcount"]["hr_people_ops"],
        2.0
    );
}

#[derive(Debug)]
struct AlwaysAsk;

impl Strategy for AlwaysAsk {
    fn resolve(
        &self,
        conflict: &consort_conflict::Conflict<'_>,
        _: &consort_conflict::StrategyContext<'_>,
    ) -> Result<Resolution, ConflictError> {
        Ok(Resolution::new(
            conflict.kind(),
            &conflict.subject,
            "ask_the_board",
            true,
            "house rule",
        ))
    }
}

#[test]
fn an_application_strategy_replaces_one_kind_only() {
    let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT).unwrap();
    let r = resolver().with_strategy(ConflictKind::DirectContradiction, Box::new(AlwaysAsk));
    let report = r
        .resolve(&input.recommendations, &input.capacities)
        .unwrap();
    for c in &report.conflicts {
        assert_eq!(
            c.strategy == StrategyName::Custom("ask_the_board".into()),
            c.kind == ConflictKind::DirectContradiction,
            "{c:?}"
        );
    }

    let wrong = resolver().with_strategy(
        ConflictKind::DirectContradiction,
        Box::new(ProportionalAllocation),
    );
    let err = wrong
        .resolve(&input.recommendations, &input.capacities)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConflictError::Strategy {
                kind: ConflictKind::DirectContradiction,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_budget_example_resolves_every_kind() {
    let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT).unwrap();
    let report = input.resolve(&experts()).unwrap();
    let kinds: Vec<(ConflictKind, &str)> = report
        .conflicts
        .iter()
        .map(|c| (c.kind, c.subject.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ConflictKind::DirectContradiction, "campaign_budget"),
            (
                ConflictKind::PriorityConflict,
                "campaign_budget <-> campaign_launch"
            ),
            (ConflictKind::PriorityConflict, "vendor_contract_review"),
            (ConflictKind::ResourceConflict, "budget"),
        ]
    );
    assert!(report.conflicts.iter().all(|c| !c.escalated));
    assert_eq!(report.agreement_rate, 0.75);
    let text = report.to_string();
    assert!(
        text.starts_with("4 conflict(s), 4 resolved automatically (100.0%)"),
        "{text}"
    );
}

#[test]
fn invalid_input_is_rejected_with_its_index() {
    let r = resolver();
    let err = r
        .resolve(
            &[
                rec("finance_accountant", "a", 1, 0.5),
                rec("ghost", "a", 1, 0.5),
            ],
            &none(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, ConflictError::UnknownExpert { index: 1, expert } if expert == "ghost"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("recommendations[1].expert: unknown expert \"ghost\"")
    );

    let err = r
        .resolve(
            &[requesting(
                rec("finance_accountant", "a", 1, 0.5),
                "budget",
                -5.0,
            )],
            &none(),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        ConflictError::InvalidRecommendation { index: 0, .. }
    ));
    assert!(
        err.to_string()
            .starts_with("recommendations[0].requested_resources.budget: "),
        "{err}"
    );

    let err = r
        .resolve(
            &[requesting(
                rec("finance_accountant", "a", 1, 0.5),
                "budget",
                f64::NAN,
            )],
            &none(),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        ConflictError::InvalidRecommendation { index: 0, .. }
    ));

    let err = r
        .resolve(&[], &capacities(&[("budget", -1.0)]))
        .unwrap_err();
    assert!(err.to_string().starts_with("capacities.budget: "), "{err}");

    let mut twice = experts();
    twice.push(twice[0].clone());
    let err = consort_conflict::ConflictResolver::new(&twice, Policy::default()).unwrap_err();
    assert!(
        matches!(err, ConflictError::DuplicateExpert { .. }),
        "{err}"
    );

    let err = from_json_str::<ResolveInput>(r#"{"recommendations": [{"expert": "finance_accountant", "subject": "a", "position": 1, "confidence_level": 1.5}]}"#).unwrap_err();
    assert_eq!(err.path(), "recommendations[0].confidence_level");
}

#[test]
fn no_recommendations_is_full_agreement() {
    let report = resolver().resolve(&[], &none()).unwrap();
    assert!(report.conflicts.is_empty());
    assert_eq!(
        (report.agreement_rate, report.automatic_resolution_rate),
        (1.0, 1.0)
    );
}
