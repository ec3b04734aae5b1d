//! The JSON documents of the MCP coordination spec, as written there, for
//! examples, tests and benchmarks.
//!
//! ```
//! let experts = consort_protocol::load_registry(consort_protocol::seeds::EXPERT_REGISTRY)?;
//! assert_eq!(experts.len(), 8);
//! # Ok::<(), consort_protocol::ProtocolError>(())
//! ```

/// The spec's `mcp_server` document: the coordination server's name,
/// version, capabilities and API endpoints. It may stand beside
/// `expert_registry` in a registry document
/// ([`RegistryDocument`](crate::RegistryDocument)).
pub const MCP_SERVER: &str = include_str!("../tests/fixtures/mcp_server.json");

/// The spec's `expert_registry` document: eight experts.
pub const EXPERT_REGISTRY: &str = include_str!("../tests/fixtures/expert_registry.json");

/// Workflow 1 of the spec, steps chained by `next_step`.
pub const MARKETING_CAMPAIGN_WORKFLOW: &str =
    include_str!("../tests/fixtures/workflow_marketing_campaign.json");

/// Workflow 2 of the spec, steps only numbered.
pub const BUSINESS_EXPANSION_WORKFLOW: &str =
    include_str!("../tests/fixtures/workflow_business_expansion.json");

/// The spec's two use-case scenarios, as a JSON array; each has a
/// `client_request` and the experts the spec expects to involve.
pub const USE_CASES: &str = include_str!("../tests/fixtures/use_cases.json");
