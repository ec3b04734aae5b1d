//! consort makes many specialised AI experts (agents, usually MCP servers)
//! work as one: it keeps a **registry** of experts, **routes** each request
//! to the right expert or team and says why, **resolves conflicts** when
//! experts disagree, and runs **collaboration workflows** that survive a
//! crash. State, events and runs live in memory by default and in Redis when
//! several processes or machines work together.
//!
//! This crate is the front door: one dependency, every part as a module
//! behind a feature, and a [`prelude`]. Each part is also its own small crate
//! (`consort-router`, `consort-workflow`, ...) for those who want only one.
//!
//! # A tour
//!
//! ## The coordinator
//!
//! Most applications need one object: a [`Coordinator`](coordinator::Coordinator),
//! built once over one state backend, cheap to clone and share. It is the
//! spec's coordination server (`registerExpert`, `getAvailableExperts`,
//! `routeToExpert`, `executeWorkflow`, `resolveExpertConflict`, ...): MCP
//! servers, the `consort` command and applications all go through it.
//!
//! ```
//! use consort::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let backend = Arc::new(MemoryBackend::new("tour")?);
//! let coordinator = Coordinator::builder(backend).build().await?;
//! for expert in load_registry(seeds::EXPERT_REGISTRY)? {
//!     coordinator.register_expert(&expert).await?;
//! }
//!
//! let decision = coordinator
//!     .route(&RouteRequest::new("Plan a campaign and check the budget with finance"))
//!     .await?;
//! assert!(decision.requires_collaboration);
//! assert!(decision.experts().any(|e| e == "finance_accountant"));
//! println!("{decision}"); // the ranked candidates and each signal's share
//! # Ok(()) }
//! ```
//!
//! Routing uses the registry's live state: an expert that is offline, or
//! whose heartbeat lapsed, is never chosen, and it can be chosen again as
//! soon as it comes back, with no manual refresh.
//!
//! ## Experts and the registry
//!
//! [`registry`] keeps expert profiles ([`protocol::ExpertProfile`], which
//! loads the spec's JSON as written) with heartbeats, declared availability,
//! load slots and a change stream, over any state backend.
//!
//! ```
//! use consort::prelude::*;
//! use consort::registry::{ExpertRegistry, RegistryConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = ExpertRegistry::new(Arc::new(MemoryBackend::new("tour")?), RegistryConfig::default());
//! let expert = ExpertProfile::new("translator", vec!["translation".into()]);
//! registry.register(&expert).await?;
//! registry.heartbeat("translator").await?;
//! let slot = registry.acquire_slot("translator").await?; // counts as load while held
//! assert_eq!(registry.get("translator").await?.map(|e| e.current_load), Some(1));
//! slot.release().await?;
//! # Ok(()) }
//! ```
//!
//! ## Routing
//!
//! [`router`] is pure (no I/O, no async): an inverted index over the
//! profiles, scored by domain, capability, complexity and context signals,
//! adjusted for availability and load. A decision names the primary expert,
//! the collaborators, and every candidate's per-signal breakdown.
//!
//! ```
//! use consort::prelude::*;
//! use consort::router::{Router, RouterConfig};
//!
//! let experts = load_registry(seeds::EXPERT_REGISTRY)?;
//! let router = Router::new(&experts, RouterConfig::default())?;
//! let decision = router.route(&RouteRequest::new("Review the NDA before we sign"));
//! assert_eq!(decision.primary.as_deref(), Some("legal_consultant"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Conflicts
//!
//! [`conflict`] settles disagreements between experts' recommendations:
//! contradictions by domain authority times confidence, priorities, scarce
//! resources by proportional allocation, and escalation to a human when no
//! side clearly wins. Deterministic, whatever order the recommendations
//! arrive in.
//!
//! ```
//! use consort::prelude::*;
//! use consort::conflict::{BUDGET_DISAGREEMENT, ResolveInput};
//!
//! let experts = load_registry(seeds::EXPERT_REGISTRY)?;
//! let input: ResolveInput = from_json_str(BUDGET_DISAGREEMENT)?;
//! let report = input.resolve(&experts)?;
//! assert!(!report.conflicts.is_empty());
//! println!("{}", report.conflicts[0].rationale);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Workflows
//!
//! [`workflow`] turns a workflow definition (the spec's JSON) into a
//! validated DAG and runs it: independent steps in parallel, retries with
//! backoff, timeouts, collaboration-point checks, human input, and a
//! checkpoint per step so that a run left by a dead process resumes without
//! redoing completed steps. Steps reach experts through a
//! [`StepExecutor`](workflow::StepExecutor) that the application provides.
//!
//! ```
//! use consort::prelude::*;
//! use consort::workflow::{Engine, EngineConfig, RunState, SimulatedExecutor, WorkflowGraph};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let spec = load_workflow(seeds::MARKETING_CAMPAIGN_WORKFLOW)?;
//! let graph = WorkflowGraph::build(&spec)?;
//! let backend = Arc::new(MemoryBackend::new("tour")?);
//! let engine = Engine::new(backend, Arc::new(SimulatedExecutor::new()), EngineConfig::default())?;
//! let status = engine.new_run(&graph).run_to_end().await?;
//! assert_eq!(status.state, RunState::Completed);
//! # Ok(()) }
//! ```
//!
//! ## State
//!
//! [`state`] is what everything above keeps its data in: a
//! [`StateBackend`](state::StateBackend) trait (versioned values with TTL,
//! compare-and-set, counters, atomic lease-guarded batches, pub/sub, leases
//! with fencing tokens) with an in-memory backend and, with feature `redis`,
//! a Redis backend. Moving from one process to many is one line:
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use consort::prelude::*;
//! use consort::state::{RedisBackend, RedisConfig};
//!
//! let backend: Arc<dyn StateBackend> =
//!     Arc::new(RedisBackend::connect(RedisConfig::new("redis://127.0.0.1:6379", "demo")).await?);
//! let coordinator = Coordinator::builder(backend).build().await?;
//! # Ok(()) }
//! ```
//!
//! ## MCP
//!
//! With feature `mcp`, [`mcp`] offers the coordinator as MCP tools on the
//! official Rust SDK, rmcp: `consort_route`, `consort_workflow_start` and
//! fifteen more, each with input and output schemas and strict arguments.
//! Add them to an rmcp server you already have with one `+`, or serve them
//! alone with [`ConsortServer`](mcp::ConsortServer) (`consort serve` does,
//! over stdio or streamable HTTP). See `examples/embed_in_rmcp.rs`.
//!
//! ```
//! # #[cfg(feature = "mcp")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use consort::prelude::*;
//! use consort::mcp::{ConsortServer, ToolsConfig};
//!
//! let coordinator = Coordinator::builder(Arc::new(MemoryBackend::new("tour")?)).build().await?;
//! ConsortServer::new(coordinator, ToolsConfig::default())?.serve_stdio().await?;
//! # Ok(()) }
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `coordinator` | yes | [`coordinator`]: the [`Coordinator`](coordinator::Coordinator), with everything it needs (`registry`, `router`, `conflict`, `workflow`) |
//! | `registry` | with `coordinator` | [`registry`]: expert registry over a state backend |
//! | `router` | with `coordinator` | [`router`]: explainable routing, pure |
//! | `conflict` | with `coordinator` | [`conflict`]: conflict resolution, pure |
//! | `workflow` | with `coordinator` | [`workflow`]: durable DAG workflows |
//! | `state` | with `registry` or `workflow` | [`state`]: the `StateBackend` trait and the memory backend |
//! | `redis` | no | `RedisBackend` in [`state`] |
//! | `redis-tls` | no | `rediss://` URLs for the Redis backend |
//! | `mcp` | no | [`mcp`]: the coordinator's tools over MCP (rmcp), embeddable or served over stdio |
//! | `mcp-http` | no | streamable HTTP for the MCP server (axum) |
//! | `mcp-experts` | no | [`mcp::experts`]: `McpExecutor`, workflow steps that call experts' MCP servers over stdio |
//! | `mcp-experts-http` | no | ... and experts over streamable HTTP |
//!
//! [`protocol`] (the spec's types: profiles, messages, recommendations,
//! events, workflow definitions) is always there. With
//! `default-features = false, features = ["router"]` consort is a pure
//! routing library with no async runtime.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod prelude;

/// The spec's wire types: expert profiles, messages, recommendations,
/// events and workflow definitions, with the spec's JSON as `seeds`.
pub use consort_protocol as protocol;

/// Shared state: the `StateBackend` trait, the memory backend and (feature
/// `redis`) the Redis backend.
#[cfg(feature = "state")]
pub use consort_state as state;

/// The expert registry: heartbeats, availability, load slots, change stream.
#[cfg(feature = "registry")]
pub use consort_registry as registry;

/// Explainable routing of requests to experts.
#[cfg(feature = "router")]
pub use consort_router as router;

/// Conflict detection and resolution between expert recommendations.
#[cfg(feature = "conflict")]
pub use consort_conflict as conflict;

/// Durable multi-expert workflows.
#[cfg(feature = "workflow")]
pub use consort_workflow as workflow;

/// The coordinator: every part composed over one backend.
#[cfg(feature = "coordinator")]
pub use consort_coordinator as coordinator;

/// The coordinator's tools over MCP.
#[cfg(feature = "mcp")]
pub use consort_mcp as mcp;
