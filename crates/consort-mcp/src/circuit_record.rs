//! An expert's open circuit, recorded in the backend so that every process
//! sharing it (and `experts_list`) sees it: written by `McpExecutor` when a
//! circuit opens, with the open period as its TTL, and deleted when a probe
//! closes it. A process that dies with a circuit open leaves nothing stale:
//! the record lapses when the circuit would have half-opened.

use consort_protocol::ExpertId;
use consort_state::StateBackend;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `mcp:circuit:{expert}`.
pub(crate) fn key(expert: &str) -> String {
    format!("mcp:circuit:{expert}")
}

/// What `experts_list` shows of an open circuit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct CircuitRecord {
    /// Always `open`: the record exists only while calls fail fast.
    pub(crate) state: String,
    /// Failed calls in a row that opened it.
    pub(crate) consecutive_failures: u32,
    /// The last failure.
    pub(crate) detail: Option<String>,
    /// When it opened (RFC 3339).
    pub(crate) opened_at: String,
}

/// The open circuit of each of `experts`, in order; `None` where there is
/// none, or its record cannot be read (the list still answers).
pub(crate) async fn read_all(
    backend: &dyn StateBackend,
    experts: &[ExpertId],
) -> Vec<Option<CircuitRecord>> {
    let keys: Vec<String> = experts.iter().map(|id| key(id)).collect();
    match backend.get_many(&keys).await {
        Ok(found) => found
            .into_iter()
            .map(|v| v.and_then(|v| serde_json::from_slice(&v.value).ok()))
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "reading circuit records failed");
            vec![None; experts.len()]
        }
    }
}
