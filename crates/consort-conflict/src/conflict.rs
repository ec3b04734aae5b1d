//! What a detected conflict looks like to a strategy.

use std::fmt;

use consort_protocol::{ExpertId, ExpertProfile, ExpertRecommendation, PriorityLevel};
use serde::{Deserialize, Serialize};

/// The four kinds of conflict of the spec. Each kind has its own
/// [`Strategy`](crate::Strategy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Recommendations on one subject take different positions.
    DirectContradiction,
    /// Recommendations agree on a position but not on its priority, or their
    /// precedence claims form a cycle.
    PriorityConflict,
    /// Requests for a resource add up to more than its capacity.
    ResourceConflict,
    /// Something the other detectors cannot classify; always escalated by
    /// the default strategy.
    Unclassified,
}

impl ConflictKind {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectContradiction => "direct_contradiction",
            Self::PriorityConflict => "priority_conflict",
            Self::ResourceConflict => "resource_conflict",
            Self::Unclassified => "unclassified",
        }
    }
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the detectors flagged a conflict; decides its [`ConflictKind`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Cause {
    /// Different positions on one subject.
    Contradiction,
    /// One position, different priorities.
    PriorityMismatch,
    /// Precedence claims among these subjects form a cycle (`a` precedes `b`
    /// and `b` precedes `a`).
    PrecedenceCycle {
        /// The subjects on the cycle, sorted.
        subjects: Vec<String>,
    },
    /// More of a resource is requested than there is.
    OverCapacity {
        /// The resource.
        resource: String,
        /// How much there is.
        capacity: f64,
        /// How much is requested in total.
        requested: f64,
    },
    /// A recommendation says its subject must come before itself.
    SelfPrecedence,
    /// A resource is requested but capacities were given without it.
    UnknownCapacity {
        /// The resource.
        resource: String,
    },
}

/// One recommendation taking part in a conflict, with what the resolver
/// knows about its author.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Member<'a> {
    /// The recommendation.
    pub recommendation: &'a ExpertRecommendation,
    /// Its author's profile.
    pub profile: &'a ExpertProfile,
    /// The canonical form of its position ([`canonical_position`](crate::canonical_position)).
    pub position_key: &'a str,
    /// The domain authority was weighed in: the recommendation's domain, or
    /// its subject when it has none.
    pub domain: &'a str,
    /// The author's authority in that domain.
    pub authority: f64,
}

impl Member<'_> {
    /// The author's id.
    pub fn expert(&self) -> &ExpertId {
        &self.recommendation.expert
    }

    /// The recommendation's confidence as a number.
    pub fn confidence(&self) -> f64 {
        self.recommendation.confidence_level.get()
    }

    /// Authority times confidence: how much this recommendation weighs in a
    /// contradiction.
    pub fn weight(&self) -> f64 {
        self.authority * self.confidence()
    }

    /// The author's standing (`priority_level`).
    pub fn level(&self) -> PriorityLevel {
        self.profile.priority_level
    }
}

/// A conflict found by the detectors, handed to a [`Strategy`](crate::Strategy).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Conflict<'a> {
    /// The subject in dispute; for a resource conflict, the resource; for a
    /// precedence cycle, its subjects joined by ` <-> `.
    pub subject: String,
    /// Why it is a conflict.
    pub cause: Cause,
    /// The recommendations involved, sorted by (subject, expert, canonical
    /// position) so that input order does not matter.
    pub members: Vec<Member<'a>>,
}

impl Conflict<'_> {
    /// The kind, which decides the strategy.
    pub fn kind(&self) -> ConflictKind {
        match self.cause {
            Cause::Contradiction => ConflictKind::DirectContradiction,
            Cause::PriorityMismatch | Cause::PrecedenceCycle { .. } => {
                ConflictKind::PriorityConflict
            }
            Cause::OverCapacity { .. } => ConflictKind::ResourceConflict,
            Cause::SelfPrecedence | Cause::UnknownCapacity { .. } => ConflictKind::Unclassified,
        }
    }
}
