//! `ping` and `capabilities`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, ToolOutput};
use crate::error::ToolError;

/// Arguments of the tools that take none.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoArgs {}

/// Result of `ping`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Pong {
    /// Always true: the coordinator answered.
    ok: bool,
    /// The consort version serving.
    version: &'static str,
}

impl ToolOutput for Pong {}

pub(crate) async fn ping(_call: Call, _args: NoArgs) -> Result<Pong, ToolError> {
    Ok(Pong {
        ok: true,
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Result of `capabilities`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Capabilities {
    /// The consort version serving.
    version: &'static str,
    /// The state backend: `memory` or `redis`.
    backend: String,
    /// The backend's namespace: processes sharing it share experts and runs.
    namespace: String,
    /// The tools offered, by wire name.
    tools: Vec<String>,
    /// Registered experts.
    experts: usize,
    /// Experts not offline.
    available_experts: usize,
    /// The workflow definitions served by name.
    workflows: Vec<String>,
    /// Whether runs can be started here; when not, `runs_refused` says why.
    runs_workflows: bool,
    /// Why runs are refused here.
    #[serde(skip_serializing_if = "Option::is_none")]
    runs_refused: Option<String>,
}

impl ToolOutput for Capabilities {}

pub(crate) async fn capabilities(call: Call, _args: NoArgs) -> Result<Capabilities, ToolError> {
    let coordinator = &call.coordinator;
    let experts = coordinator.experts().await?;
    let available = experts
        .iter()
        .filter(|e| e.availability_status != consort_protocol::Availability::Offline)
        .count();
    let mut workflows: Vec<String> = coordinator
        .workflows()
        .iter()
        .map(|graph| graph.name().to_owned())
        .collect();
    workflows.sort();
    let config = &call.tools.config;
    let backend = coordinator.backend();
    Ok(Capabilities {
        version: env!("CARGO_PKG_VERSION"),
        backend: backend.capabilities().kind.to_owned(),
        namespace: backend.namespace().to_owned(),
        tools: config.tools().map(|tool| config.name_of(tool)).collect(),
        experts: experts.len(),
        available_experts: available,
        workflows,
        runs_workflows: config.runs_refused().is_none(),
        runs_refused: config.runs_refused().map(str::to_owned),
    })
}
