//! What most programs using consort need, in one import:
//! `use consort::prelude::*;`.
//!
//! Only types whose names are unambiguous across the workspace are here
//! (no `Error` or `Result`: each part's error is reached through its module,
//! e.g. [`crate::coordinator::CoordinatorError`]).

pub use std::sync::Arc;

pub use consort_protocol::{
    Availability, ExpertId, ExpertProfile, ExpertRecommendation, WorkflowSpec, from_json_str,
    load_registry, load_workflow, seeds,
};

#[cfg(feature = "state")]
pub use consort_state::{JsonStateExt, MemoryBackend, StateBackend};

#[cfg(feature = "redis")]
pub use consort_state::{RedisBackend, RedisConfig};

#[cfg(feature = "router")]
pub use consort_router::{RouteContext, RouteDecision, RouteRequest};

#[cfg(feature = "workflow")]
pub use consort_workflow::{RunState, RunStatus, StepContext, StepExecutor, StepKind, StepOutcome};

#[cfg(feature = "coordinator")]
pub use consort_coordinator::Coordinator;
