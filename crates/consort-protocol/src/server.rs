//! The coordination proposal's server registry, tool discovery and health
//! types, with its camelCase field names.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Whether a registered server is in service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerStatus {
    /// Serving.
    Active,
    /// Registered but not serving.
    Inactive,
    /// Serving with problems.
    Degraded,
}

/// An MCP server in the shared registry (the proposal's `ServerRegistry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerRegistration {
    /// Unique id (`reconciliation-platform`).
    pub server_id: String,
    /// Display name.
    pub name: String,
    /// Server version.
    pub version: String,
    /// Tools it offers.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Whether it serves.
    pub status: ServerStatus,
    /// When it was last heard from (RFC 3339).
    pub last_seen: Timestamp,
    /// What it can do (`docker`, `redis`).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// What it needs (`redis`, `postgres`).
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// A tool found on some server (the proposal's `ToolDiscovery`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDescriptor {
    /// The tool's name.
    pub tool_name: String,
    /// The server offering it.
    pub server_id: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Its parameters, as a JSON schema or example.
    #[serde(default)]
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Tools or services it relies on.
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// A health verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// All good.
    Healthy,
    /// Working, with problems.
    Degraded,
    /// Not working.
    Unhealthy,
}

/// One server's health report (the proposal's `HealthStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// The verdict.
    pub status: HealthState,
    /// Errors counted since the last report.
    pub errors: u64,
    /// When it was checked (RFC 3339).
    pub last_check: Timestamp,
}

/// One server's line in [`UnifiedHealthStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerHealth {
    /// The server's verdict.
    pub status: HealthState,
    /// When it was checked (RFC 3339).
    pub last_check: Timestamp,
    /// How many tools it offers.
    pub tools: u32,
    /// Errors counted.
    pub errors: u64,
}

/// Whether a shared dependency (Redis, Postgres, ...) is reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyState {
    /// Reachable.
    Connected,
    /// Not reachable.
    Disconnected,
}

/// Health across all servers (the proposal's `UnifiedHealthStatus`).
/// `dependencies` is keyed by name rather than fixed to the proposal's three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnifiedHealthStatus {
    /// The worst verdict among servers and dependencies.
    pub overall: HealthState,
    /// Per server id.
    pub servers: BTreeMap<String, ServerHealth>,
    /// Per dependency name.
    pub dependencies: BTreeMap<String, DependencyState>,
}
