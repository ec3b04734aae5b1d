//! Wire types for consort: the vocabulary every other consort crate speaks.
//!
//! Plain serde types with no async and no I/O. They load the JSON of the MCP
//! coordination spec as written — `"response_time_sla": "< 3 seconds"`,
//! `"collaborating_experts": ["all"]`, workflows chained by `next_step` or
//! only numbered — and every parse or validation error names the JSON path of
//! the bad value.
//!
//! | spec concept | type |
//! |---|---|
//! | `expert_registry` entries, TypeScript `ExpertProfile` | [`ExpertProfile`], [`load_registry`] |
//! | the `mcp_server` block beside them | [`CoordinatorManifest`], [`RegistryDocument`] |
//! | expert-to-expert `message_format` / `response_format` | [`ExpertMessage`], [`ExpertResponse`] |
//! | recommendations for conflict resolution | [`ExpertRecommendation`] |
//! | coordination-hub events (`file:locked`, `task:claimed`, ...) | [`Event`], [`EventKind`] |
//! | server registry and unified health | [`ServerRegistration`], [`UnifiedHealthStatus`] |
//! | workflow definitions | [`WorkflowSpec`], [`load_workflow`] |
//!
//! ```
//! use consort_protocol::{load_registry, load_workflow, seeds, PriorityLevel};
//!
//! let experts = load_registry(seeds::EXPERT_REGISTRY)?;
//! let assistant = experts.iter().find(|e| e.id == "personal_assistant").unwrap();
//! assert_eq!(assistant.priority_level, PriorityLevel::Coordinator);
//! assert_eq!(assistant.response_time_sla.as_secs(), 2);
//!
//! let workflow = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
//! assert_eq!(workflow.workflow_steps.len(), 5);
//!
//! let err = load_registry(r#"{"expert_registry": {"finance_accountant": {
//!     "expertise_domains": ["finance"], "mcp_endpoint": "/f",
//!     "priority_level": "urgent", "response_time_sla": 3000}}}"#).unwrap_err();
//! assert!(err.to_string().starts_with("expert_registry.finance_accountant.priority_level: unknown variant `urgent`"));
//! # Ok::<(), consort_protocol::ProtocolError>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod complexity;
mod confidence;
mod error;
mod event;
mod expert_id;
mod json;
mod message;
mod priority;
mod profile;
mod recommendation;
mod registry;
pub mod seeds;
mod server;
pub mod sla;
mod suggest;
mod workflow;

pub use complexity::{ComplexityLevel, ComplexityRange};
pub use confidence::Confidence;
pub use error::{Location, ProtocolError, Result};
pub use event::{
    CacheEvent, CircuitEvent, Event, EventKind, ExpertEvent, FileLockEvent, HealthEvent, TaskEvent,
    WorkflowProgress,
};
pub use expert_id::{ExpertId, MAX_EXPERT_ID_LEN, validate_expert_id};
pub use json::{from_json_str, from_json_value};
pub use message::{
    ExpertMessage, ExpertResponse, MessageId, MessagePayload, MessageType, ResponsePayload,
    ResponseType,
};
pub use priority::{Priority, PriorityLevel};
pub use profile::{Availability, ExpertProfile};
pub use recommendation::ExpertRecommendation;
pub use registry::{CoordinatorManifest, RegistryDocument, load_registry};
pub use server::{
    DependencyState, HealthState, HealthStatus, ServerHealth, ServerRegistration, ServerStatus,
    ToolDescriptor, UnifiedHealthStatus,
};
pub use suggest::did_you_mean;
pub use workflow::{
    CollaborationPoint, Collaborator, RetrySpec, StepNumber, ValidationFailurePolicy, WorkflowSpec,
    WorkflowStep, load_workflow,
};
