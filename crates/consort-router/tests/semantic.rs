//! The semantic signal (feature `semantic`) with a tiny Model2Vec model that
//! the test writes itself: a WordPiece vocabulary whose words belong to a few
//! topics, each word's vector pointing along its topic's axis.
#![cfg(feature = "semantic")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::path::Path;

mod support {
    pub(crate) mod model_dir;
}
use support::model_dir;

use consort_protocol::ExpertProfile;
use consort_router::{
    RouteOutcome, RouteRequest, Router, RouterConfig, RouterError, SemanticModel,
};
use tempfile::TempDir;

/// Topics (one embedding axis each) and their words.
const TOPICS: &[&[&str]] = &[
    &[
        "calendar",
        "meeting",
        "reschedule",
        "thursday",
        "appointment",
        "diary",
        "slot",
    ],
    &[
        "invoice",
        "bill",
        "payment",
        "accounting",
        "bookkeeping",
        "ledger",
    ],
    &[
        "contract",
        "clause",
        "lawsuit",
        "law",
        "liability",
        "agreement",
    ],
    &["logo", "colour", "font", "layout", "design", "sketch"],
];
/// Writes the model in `dir`: each word's vector points along its topic's
/// axis, with a little spread on a shared one.
fn write_model(dir: &Path) {
    let dim = TOPICS.len() + 1;
    let mut rows = Vec::new();
    for (topic, words) in TOPICS.iter().enumerate() {
        for (k, word) in words.iter().enumerate() {
            let mut row = vec![0.0_f32; dim];
            row[topic] = 1.0;
            row[dim - 1] = 0.1 * k as f32;
            rows.push(((*word).to_owned(), row));
        }
    }
    model_dir::write(dir, dim, &rows);
}

fn expert(id: &str, domains: &[&str]) -> ExpertProfile {
    ExpertProfile::new(id, domains.iter().map(|d| (*d).to_owned()).collect())
}

fn registry() -> Vec<ExpertProfile> {
    vec![
        expert("assistant", &["calendar"]),
        expert("accountant", &["bookkeeping"]),
        expert("lawyer", &["law"]),
        expert("designer", &["design"]),
    ]
}

fn model() -> (TempDir, SemanticModel) {
    let dir = TempDir::new().unwrap();
    write_model(dir.path());
    let model = SemanticModel::from_dir(dir.path()).unwrap();
    (dir, model)
}

#[test]
fn paraphrases_without_a_shared_word_reach_the_right_expert() {
    let (_dir, model) = model();
    assert_eq!(model.dim(), TOPICS.len() + 1);
    let plain = lexical(&registry());
    let semantic = lexical(&registry()).with_semantic(model);
    for (text, want) in [
        ("Please reschedule Thursday's appointment", "assistant"),
        ("Who pays this invoice?", "accountant"),
        ("Is the liability clause fair?", "lawyer"),
        ("Pick a font and a layout", "designer"),
    ] {
        let request = RouteRequest::new(text);
        let without = plain.route(&request);
        assert_eq!(without.outcome, RouteOutcome::NoMatch, "{text}: {without}");
        let with = semantic.route(&request);
        assert_eq!(with.primary.as_deref(), Some(want), "{text}: {with}");
        let top = &with.candidates[0];
        assert!(top.breakdown.semantic > 0.8, "{text}: {with}");
        assert!(with.to_string().contains("semantic"), "{with}");
    }
}

fn lexical(experts: &[ExpertProfile]) -> Router {
    Router::new(
        experts,
        // Without the related-terms table, so that no request word below
        // matches a profile lexically.
        RouterConfig::default()
            .with_coordinator_fallback(false)
            .with_related_terms(false),
    )
    .unwrap()
}

#[test]
fn lexical_evidence_and_semantic_evidence_add_up() {
    let (_dir, model) = model();
    let router = lexical(&registry()).with_semantic(model);
    // "law" matches the lawyer lexically; "invoice" only semantically.
    let decision = router.route(&RouteRequest::new("law invoice"));
    let lawyer = decision
        .candidates
        .iter()
        .find(|c| c.expert == "lawyer")
        .unwrap();
    assert!(lawyer.breakdown.semantic > 0.0, "{decision}");
    assert!(
        lawyer.matched_terms.contains(&"law".to_owned()),
        "{decision}"
    );
    assert!(
        decision.candidates.iter().any(|c| c.expert == "accountant"),
        "{decision}"
    );
}

#[test]
fn the_index_follows_profile_updates() {
    let (_dir, model) = model();
    let mut router = lexical(&registry()).with_semantic(model);
    let mut experts = registry();
    experts.retain(|e| e.id != "designer");
    experts.push(expert("studio", &["sketch"]));
    router.update_profiles(&experts).unwrap();
    let decision = router.route(&RouteRequest::new("a new logo and colour"));
    assert_eq!(decision.primary.as_deref(), Some("studio"), "{decision}");
    assert!(router.semantic_model().is_some());
}

#[test]
fn a_bad_model_directory_is_a_typed_error_with_its_cause() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    let err = SemanticModel::from_dir(&missing).unwrap_err();
    assert!(matches!(err, RouterError::SemanticModel { .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");

    write_model(dir.path());
    std::fs::write(dir.path().join("model.safetensors"), b"not a model").unwrap();
    let err = SemanticModel::from_dir(dir.path()).unwrap_err();
    assert!(std::error::Error::source(&err).is_some(), "{err}");
}

#[test]
fn large_registries_compare_only_the_experts_other_evidence_found() {
    let (_dir, model) = model();
    // 3,100 experts of 11 items each: above the full-scan limit.
    let filler = ["calendar", "invoice", "contract", "logo"];
    let mut experts: Vec<ExpertProfile> = (0..3_100)
        .map(|i| {
            let mut e = expert(&format!("e{i:04}"), &[filler[i % 4]]);
            e.keywords = (0..10).map(|k| filler[(i + k) % 4].to_owned()).collect();
            e
        })
        .collect();
    experts.push(expert("lawyer", &["law"]));
    let router = lexical(&experts).with_semantic(model);
    // Found by "law": compared, and the semantic evidence shows.
    let decision = router.route(&RouteRequest::new("law and liability"));
    let lawyer = decision
        .candidates
        .iter()
        .find(|c| c.expert == "lawyer")
        .unwrap();
    assert!(lawyer.breakdown.semantic > 0.5, "{decision}");
    // Nothing found it lexically: not compared.
    let decision = router.route(&RouteRequest::new("liability clause lawsuit"));
    assert!(
        decision
            .candidates
            .iter()
            .all(|c| c.breakdown.semantic == 0.0),
        "{decision}"
    );
}
