//! What resolution produces: one [`Resolution`] per conflict and a
//! [`UnifiedRecommendation`], gathered in a [`Report`].

use std::collections::BTreeMap;

use consort_protocol::Priority;
use serde::Serialize;
use serde_json::Value;

use crate::ConflictKind;

/// Allocations of scarce resources: resource -> expert -> amount.
pub type Allocations = BTreeMap<String, BTreeMap<String, f64>>;

/// How one conflict was settled, or why it was escalated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Resolution {
    /// The kind of conflict.
    pub kind: ConflictKind,
    /// The subject (a resource name for resource conflicts, the subjects
    /// joined by ` <-> ` for a precedence cycle).
    pub subject: String,
    /// The strategy that decided: `weighted_selection`, `consensus`,
    /// `priority_order`, `proportional_allocation`, `human_review`, or an
    /// application strategy's name.
    pub strategy: String,
    /// What was selected; `None` when escalated without a selection or for
    /// resource conflicts (see `allocations`).
    pub selected: Option<Selection>,
    /// Whether a human must decide.
    pub escalated: bool,
    /// Why, naming the experts and their weights.
    pub rationale: String,
    /// Every option, best first.
    pub alternatives: Vec<RankedOption>,
    /// For resource conflicts: resource -> expert -> amount granted.
    pub allocations: Allocations,
}

impl Resolution {
    /// A resolution with no selection, alternatives or allocations; fill the
    /// public fields afterwards. For application strategies.
    pub fn new(
        kind: ConflictKind,
        subject: impl Into<String>,
        strategy: impl Into<String>,
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

/// The position a resolution settled on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// The winning position. For a precedence cycle: the cycle's subjects in
    /// the order that the accepted claims give.
    pub position: Value,
    /// The priority that goes with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The experts who backed it, sorted.
    pub experts: Vec<String>,
}

/// One option of a conflict, with the weight behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedOption {
    /// The position. For a precedence claim: `[before, after]`.
    pub position: Value,
    /// For priority conflicts: the priority this option stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Who backs it, sorted.
    pub experts: Vec<String>,
    /// Its weight (sum of authority x confidence of its backers).
    pub weight: f64,
    /// Its weight as a share of all options' weight (0 when all are 0).
    pub share: f64,
}

/// A settled subject in the unified recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The position to act on.
    pub position: Value,
    /// Its priority.
    pub priority: Priority,
    /// The experts who backed it, sorted.
    pub experts: Vec<String>,
    /// `unanimous` when nobody disagreed, otherwise the strategy that
    /// decided (`human_review` for an escalated priority, which keeps the
    /// highest priority asked for until a human decides).
    pub strategy: String,
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
    /// Subject -> what to do. Subjects whose contradiction was escalated are
    /// absent (see `escalations`).
    pub decisions: BTreeMap<String, Decision>,
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
