//! [`CoordinatorError`]: what a coordinator operation can fail with.

use consort_conflict::ConflictError;
use consort_registry::RegistryError;
use consort_router::RouterError;
use consort_state::StateError;
use consort_workflow::{Problem, WorkflowError};

/// Why a [`Coordinator`](crate::Coordinator) operation failed. Each variant
/// keeps the part's own error as its source, so nothing is lost: match on
/// the source for details (which key, which step, which JSON path).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoordinatorError {
    /// The expert registry failed (bad profile, unknown expert, backend).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The state backend failed outside the parts' own operations (the
    /// routing corrections log).
    #[error(transparent)]
    State(#[from] StateError),
    /// The router could not be built over the registry's experts, or a
    /// route context names experts the registry does not have.
    #[error(transparent)]
    Router(#[from] RouterError),
    /// Conflict resolution rejected its input or its policy.
    #[error(transparent)]
    Conflict(#[from] ConflictError),
    /// A workflow operation failed.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// No workflow of this name was added to the coordinator.
    #[error("no workflow named {name:?}; {}", known_text(.known))]
    UnknownWorkflow {
        /// The name asked for.
        name: String,
        /// The names that exist, sorted.
        known: Vec<String>,
    },
    /// A workflow definition has problems; nothing was added or started.
    #[error("workflow {name:?} is invalid: {}", join(problems))]
    InvalidWorkflow {
        /// The workflow's name.
        name: String,
        /// Every problem found, each naming its JSON path.
        problems: Vec<Problem>,
    },
    /// A request to learn from has no text.
    #[error("a routing correction needs the request's text; it is empty")]
    EmptyRequest,
    /// The coordinator's background task that follows the registry was
    /// started outside a tokio runtime.
    #[error("the coordinator needs a tokio runtime to follow the registry")]
    NoRuntime,
    /// The runtime shut down before the routing view could be rebuilt (the
    /// rebuild runs on its blocking pool).
    #[error("the tokio runtime shut down before the routing view was rebuilt")]
    ShutDown,
}

fn known_text(known: &[String]) -> String {
    if known.is_empty() {
        "none was added".to_owned()
    } else {
        format!("known: {}", known.join(", "))
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl CoordinatorError {
    /// Whether retrying the same call later may succeed: the backend was
    /// unreachable or timed out. Answers as the wrapped state error does.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::State(e) => e.is_transient(),
            Self::Registry(e) => e.is_transient(),
            Self::Workflow(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = CoordinatorError> = std::result::Result<T, E>;
