//! The router's error type.

use consort_protocol::{ExpertId, ProtocolError};

/// Why a router could not be built or configured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// A profile breaks the protocol's rules (blank domain, bad id, ...).
    #[error("expert {expert:?}: {source}")]
    InvalidProfile {
        /// The expert whose profile is wrong.
        expert: ExpertId,
        /// What is wrong, with the path inside the profile.
        #[source]
        source: ProtocolError,
    },
    /// Two profiles share an id.
    #[error("duplicate expert id {expert:?}")]
    DuplicateExpert {
        /// The repeated id.
        expert: ExpertId,
    },
    /// `fallback_expert` names an expert that is not in the registry.
    #[error("fallback expert {expert:?} is not in the registry")]
    UnknownFallback {
        /// The missing id.
        expert: ExpertId,
    },
    /// An expert id given to the router is not in the registry.
    #[error("expert {expert:?} is not in the registry")]
    UnknownExpert {
        /// The id that matched no expert.
        expert: ExpertId,
    },
    /// A route context names an expert that is not in the registry
    /// ([`Router::check_context`](crate::Router::check_context)).
    #[error(
        "{path}: the route context names expert {expert:?}, which is not in the registry{}",
        did_you_mean(suggestion.as_ref())
    )]
    UnknownContextExpert {
        /// Where in the context: `previous_expert`, `collaborators[1]`,
        /// `availability.<id>` or `load.<id>`.
        path: String,
        /// The id that matched no expert.
        expert: ExpertId,
        /// The closest registered id, when one is close.
        suggestion: Option<ExpertId>,
    },
    /// A Model2Vec model directory could not be loaded.
    #[cfg(feature = "semantic")]
    #[cfg_attr(docsrs, doc(cfg(feature = "semantic")))]
    #[error("semantic model {}: {source}", path.display())]
    SemanticModel {
        /// The model directory.
        path: std::path::PathBuf,
        /// What the loader said.
        #[source]
        source: crate::ModelError,
    },
    /// A signal weight is negative, infinite or NaN.
    #[error("weight of signal {signal:?} must be a finite number >= 0, got {value}")]
    InvalidWeight {
        /// The signal (`domain`, `capability`, ... or an extra signal's name).
        signal: String,
        /// The rejected weight.
        value: f64,
    },
    /// Every signal weight is zero, so no score could be computed.
    #[error("signal weights sum to zero; give at least one signal a positive weight")]
    ZeroWeights,
    /// Two extra signals share a name, so their breakdown entries would clash.
    #[error("an extra signal named {name:?} is already registered")]
    DuplicateSignal {
        /// The repeated name.
        name: String,
    },
    /// A numeric setting is outside its allowed range.
    #[error("router setting {field} = {value} is invalid: {reason}")]
    InvalidConfig {
        /// The `RouterConfig` field.
        field: &'static str,
        /// The rejected value.
        value: f64,
        /// The allowed range.
        reason: &'static str,
    },
}

fn did_you_mean(suggestion: Option<&ExpertId>) -> String {
    suggestion.map_or_else(String::new, |id| format!("; did you mean {id:?}?"))
}

/// Result alias of this crate.
pub type Result<T, E = RouterError> = std::result::Result<T, E>;
