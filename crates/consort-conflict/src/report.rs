//! What resolution produces: one [`Resolution`] per conflict and a
//! [`UnifiedRecommendation`], gathered in a [`Report`].

use std::collections::BTreeMap;

use consort_protocol::ExpertId;
use serde::Serialize;

use crate::{ConflictKind, Stance, StrategyName};

/// Allocations of scarce resources: resource -> expert -> amount.
pub type Allocations = BTreeMap<String, BTreeMap<ExpertId, f64>>;

/// How one conflict was settled, or why it was escalated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Resolution {
    /// The kind of conflict.
    pub kind: ConflictKind,
    /// The subject (a resource name for resource conflicts, the subjects
    /// joined by ` <-> ` for a precedence cycle).
    pub subject: String,
    /// The strategy that decided, or [`HumanReview`](StrategyName::HumanReview)
    /// when it left the decision to a human.
    pub strategy: StrategyName,
    /// What was selected; `None` when escalated without a selection or for
    /// resource conflicts (see `allocations`).
    pub selected: Option<Stance>,
    /// Whether a human must decide.
    pub escalated: bool,
    /// Why, naming the experts and their weights.
    pub rationale: String,
    /// Every option, best first.
    pub alternatives: Vec<Stance>,
    /// For resource conflicts: resource -> expert -> amount granted.
    pub allocations: Allocations,
}

impl Resolution {
    /// A resolution with no selection, alternatives or allocations; fill the
    /// public fields afterwards. For application strategies.
    pub fn new(
        kind: ConflictKind,
        subject: impl Into<String>,
        strategy: impl Into<StrategyName>,
        escalated: bool,
        rationale: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            subject: subject.into(),
            strategy: strategy.into(),
            selected: None,
            escalated,
            rationale: rationale.into(),
            alternatives: Vec::new(),
            allocations: Allocations::new(),
        }
    }
}

/// Something a human must decide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalation {
    /// The kind of conflict.
    pub kind: ConflictKind,
    /// Its subject.
    pub subject: String,
    /// Why it was escalated.
    pub reason: String,
}

/// The recommendations merged into one: undisputed subjects as they were,
/// disputed ones as resolved, resources as granted, and what is left for a
/// human.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[non_exhaustive]
pub struct UnifiedRecommendation {
    /// Subject -> what to do, with the strategy that decided it. Subjects
    /// whose contradiction was escalated are absent (see `escalations`).
    pub decisions: BTreeMap<String, Stance>,
    /// Resource -> expert -> amount: requests in full where the capacity
    /// allows, the proportional allocation where it does not; resources
    /// whose conflict was escalated are absent.
    pub allocations: Allocations,
    /// Everything escalated, in the order of the report's conflicts.
    pub escalations: Vec<Escalation>,
}

/// Everything resolution found and decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// One resolution per conflict, sorted by kind, then subject.
    pub conflicts: Vec<Resolution>,
    /// The merged recommendation.
    pub unified: UnifiedRecommendation,
    /// Subjects on which every recommendation takes the same position,
    /// divided by all subjects (1.0 when there are none).
    pub agreement_rate: f64,
    /// Conflicts resolved without escalation, divided by all conflicts (1.0
    /// when there are none).
    pub automatic_resolution_rate: f64,
}

impl Report {
    /// The escalated resolutions.
    pub fn escalated(&self) -> impl Iterator<Item = &Resolution> {
        self.conflicts.iter().filter(|r| r.escalated)
    }

    /// The resolution of `kind` on `subject`, if there is one.
    pub fn conflict(&self, kind: ConflictKind, subject: &str) -> Option<&Resolution> {
        self.conflicts
            .iter()
            .find(|r| r.kind == kind && r.subject == subject)
    }
}
