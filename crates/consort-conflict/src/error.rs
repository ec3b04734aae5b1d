//! The one error type of this crate.

use consort_protocol::{ExpertId, ProtocolError};

use crate::ConflictKind;

/// Why a set of recommendations, profiles or a policy could not be resolved.
///
/// Messages start with the JSON path of the bad value as it appears in a
/// `consort resolve` input document (`recommendations[2].expert`,
/// `capacities.budget`, `policy.min_margin`), so they can be acted on
/// directly.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConflictError {
    /// A recommendation names an expert that is not among the profiles.
    #[error(
        "recommendations[{index}].expert: unknown expert {expert:?} (not in the expert profiles)"
    )]
    UnknownExpert {
        /// Position of the recommendation in the input slice.
        index: usize,
        /// The unknown expert id.
        expert: ExpertId,
    },
    /// A recommendation breaks a rule of [`ExpertRecommendation::validate`]
    /// (blank subject, negative or non-finite resource amount, ...).
    ///
    /// [`ExpertRecommendation::validate`]: consort_protocol::ExpertRecommendation::validate
    #[error("{source}")]
    InvalidRecommendation {
        /// Position of the recommendation in the input slice.
        index: usize,
        /// What is wrong; its path starts with `recommendations[index]`.
        source: ProtocolError,
    },
    /// A resource capacity is negative or not finite.
    #[error("capacities.{resource}: capacity must be a finite number >= 0, got {capacity}")]
    InvalidCapacity {
        /// The resource.
        resource: String,
        /// The rejected capacity.
        capacity: f64,
    },
    /// Two profiles share an id.
    #[error("experts: duplicate expert id {expert:?}")]
    DuplicateExpert {
        /// The repeated id.
        expert: ExpertId,
    },
    /// A profile breaks a rule of [`ExpertProfile::validate`].
    ///
    /// [`ExpertProfile::validate`]: consort_protocol::ExpertProfile::validate
    #[error("experts.{expert}: {source}")]
    InvalidProfile {
        /// The profile's id.
        expert: ExpertId,
        /// What is wrong with it.
        source: ProtocolError,
    },
    /// A policy setting is out of range.
    #[error("policy.{field}: {reason}")]
    InvalidPolicy {
        /// The setting, as a path inside the policy (`authority.expertise`).
        field: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A strategy could not handle the conflict it was given (an application
    /// strategy failed, or a strategy was registered for a kind it does not
    /// understand).
    #[error("{kind} on {subject:?}: {reason}")]
    Strategy {
        /// The kind of the conflict.
        kind: ConflictKind,
        /// The conflict's subject.
        subject: String,
        /// What went wrong.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ConflictError> = std::result::Result<T, E>;
