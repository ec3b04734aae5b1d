//! The one error type of this crate.

use consort_protocol::{ExpertId, ProtocolError};

use crate::{Conflict, ConflictKind};

/// Why a set of recommendations, profiles or a policy could not be resolved.
///
/// Messages start with the JSON path of the bad value as it appears in a
/// `consort resolve` input document (`recommendations[2].expert`,
/// `capacities.budget`, `policy.min_margin`), so they can be acted on
/// directly. Where another error is the cause, it is kept as the
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
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
        #[source]
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
        #[source]
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
    /// understand). Made with [`ConflictError::strategy`] or
    /// [`ConflictError::strategy_caused_by`].
    #[error("{kind} on {subject:?}: {reason}")]
    #[non_exhaustive]
    Strategy {
        /// The kind of the conflict.
        kind: ConflictKind,
        /// The conflict's subject.
        subject: String,
        /// What went wrong.
        reason: String,
        /// The application's error behind it, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ConflictError {
    /// A strategy's failure to settle `conflict`, for `reason`.
    pub fn strategy(conflict: &Conflict<'_>, reason: impl Into<String>) -> Self {
        Self::Strategy {
            kind: conflict.kind(),
            subject: conflict.subject.clone(),
            reason: reason.into(),
            source: None,
        }
    }

    /// A strategy's failure to settle `conflict`, for `reason`, because of
    /// `source` (an application strategy's own error, kept as the cause).
    ///
    /// ```
    /// use std::error::Error as _;
    /// use consort_conflict::{
    ///     BUDGET_DISAGREEMENT, Conflict, ConflictError, ConflictKind, ConflictResolver, Resolution,
    ///     ResolveInput, Strategy, StrategyContext,
    /// };
    /// use consort_protocol::{from_json_str, load_registry, seeds};
    ///
    /// /// Asks a board that cannot be reached.
    /// #[derive(Debug)]
    /// struct AskTheBoard;
    ///
    /// impl Strategy for AskTheBoard {
    ///     fn resolve(&self, conflict: &Conflict<'_>, _: &StrategyContext<'_>) -> Result<Resolution, ConflictError> {
    ///         let down = std::io::Error::other("board API unreachable");
    ///         Err(ConflictError::strategy_caused_by(conflict, "the board did not answer", down))
    ///     }
    /// }
    ///
    /// let experts = load_registry(seeds::EXPERT_REGISTRY)?;
    /// let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT)?;
    /// let resolver = ConflictResolver::new(&experts, input.policy.clone())?
    ///     .with_strategy(ConflictKind::DirectContradiction, Box::new(AskTheBoard));
    /// let err = resolver.resolve(&input.recommendations, &input.capacities).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"direct_contradiction on "campaign_budget": the board did not answer"#
    /// );
    /// assert_eq!(err.source().unwrap().to_string(), "board API unreachable");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn strategy_caused_by(
        conflict: &Conflict<'_>,
        reason: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Strategy {
            kind: conflict.kind(),
            subject: conflict.subject.clone(),
            reason: reason.into(),
            source: Some(source.into()),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ConflictError> = std::result::Result<T, E>;
