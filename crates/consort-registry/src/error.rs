//! The crate's single error type.

use consort_protocol::{ExpertId, ProtocolError};

/// Everything a registry operation can fail with. Every message names the
/// expert concerned (or the registry-wide operation when there is none).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The profile broke a rule of [`ExpertProfile::validate`](consort_protocol::ExpertProfile::validate);
    /// nothing was stored.
    #[error("invalid profile for expert `{id}`: {source}")]
    InvalidProfile {
        /// The expert id as given.
        id: ExpertId,
        /// The broken rule, with the JSON path of the bad field.
        #[source]
        source: ProtocolError,
    },

    /// An id passed to an operation is not a valid expert id.
    #[error("invalid expert id `{id}`: {source}")]
    InvalidId {
        /// The rejected id.
        id: String,
        /// Why it was rejected.
        #[source]
        source: ProtocolError,
    },

    /// No expert with this id is registered.
    #[error("expert `{id}` is not registered")]
    NotRegistered {
        /// The unknown expert.
        id: ExpertId,
    },

    /// Every slot of the expert is taken.
    #[error("expert `{id}` is at capacity ({max} concurrent work items)")]
    AtCapacity {
        /// The expert.
        id: ExpertId,
        /// Its `max_concurrent`.
        max: u32,
    },

    /// The expert cannot take work: its heartbeat lapsed or it declared
    /// itself offline.
    #[error("expert `{id}` is offline")]
    Offline {
        /// The expert.
        id: ExpertId,
    },

    /// [`ExpertRegistry::spawn_sweeper`](crate::ExpertRegistry::spawn_sweeper)
    /// was called outside a tokio runtime.
    #[error("the registry sweeper for source `{source_name}` needs a tokio runtime")]
    NoRuntime {
        /// The registry's event source name.
        source_name: String,
    },

    /// The state backend failed.
    #[error("registry {operation} {}: {source}", subject(id.as_deref()))]
    State {
        /// The registry operation, e.g. `"heartbeat"`.
        operation: &'static str,
        /// The expert concerned; `None` for registry-wide operations (snapshot, sweep).
        id: Option<ExpertId>,
        /// The backend's error (it names the key involved).
        #[source]
        source: consort_state::StateError,
    },
}

fn subject(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("for expert `{id}` failed"),
        None => "over all experts failed".to_owned(),
    }
}

impl RegistryError {
    /// The expert the error concerns, if any.
    pub fn expert_id(&self) -> Option<&str> {
        match self {
            Self::InvalidId { id, .. } => Some(id),
            Self::InvalidProfile { id, .. }
            | Self::NotRegistered { id }
            | Self::AtCapacity { id, .. }
            | Self::Offline { id } => Some(id),
            Self::State { id, .. } => id.as_deref(),
            Self::NoRuntime { .. } => None,
        }
    }

    /// True for backend errors that may go away by retrying later: exactly
    /// when the wrapped [`StateError`](consort_state::StateError) is
    /// [transient](consort_state::StateError::is_transient).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::State { source, .. } if source.is_transient())
    }
}

impl consort_state::retry::Transient for RegistryError {
    fn is_transient(&self) -> bool {
        RegistryError::is_transient(self)
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Attaches the operation and expert id to backend errors.
pub(crate) trait StateContext<T> {
    fn during(self, operation: &'static str, id: Option<&str>) -> Result<T>;
}

impl<T> StateContext<T> for consort_state::Result<T> {
    fn during(self, operation: &'static str, id: Option<&str>) -> Result<T> {
        self.map_err(|source| RegistryError::State {
            operation,
            id: id.map(ExpertId::from),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend_error() -> consort_state::StateError {
        consort_state::StateError::NotFound { key: "k".into() }
    }

    #[test]
    fn messages_name_the_expert_or_the_scope() {
        let one: Result<()> = Err(backend_error()).during("heartbeat", Some("pa"));
        let one = one.unwrap_err();
        assert_eq!(
            one.to_string(),
            "registry heartbeat for expert `pa` failed: key `k` not found"
        );
        assert_eq!(one.expert_id(), Some("pa"));
        let all: Result<()> = Err(backend_error()).during("sweep", None);
        assert_eq!(
            all.unwrap_err().to_string(),
            "registry sweep over all experts failed: key `k` not found"
        );
    }
}
