//! [`McpError`]: what can go wrong setting up or serving consort over MCP,
//! and [`ToolError`], a tool call's failure as the client sees it.

use std::time::Duration;

use consort_coordinator::CoordinatorError;
use consort_protocol::ProtocolError;
use rmcp::model::{CallToolResult, ContentBlock};

/// The result of this crate's fallible functions.
pub type Result<T, E = McpError> = std::result::Result<T, E>;

/// Setting up or serving consort over MCP failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// The tool name prefix holds a character MCP tool names may not.
    #[error(
        "tool prefix {prefix:?}: {bad:?} is not allowed in tool names (use ASCII letters, digits, `_`, `-`, `.`)"
    )]
    InvalidPrefix {
        /// The prefix.
        prefix: String,
        /// The first character that is not allowed.
        bad: char,
    },
    /// The MCP session could not start (the transport closed, or the client
    /// did not initialise).
    #[error("MCP session: {0}")]
    Session(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Serving over HTTP failed (binding the address, accepting).
    #[error("serving HTTP on {addr}: {source}")]
    Http {
        /// The address.
        addr: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// Why a tool call failed: it reaches the client as a tool result with
/// `isError: true` and this message, never as a protocol error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments are wrong; the message names the JSON path, as the
    /// command line's messages do.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The call is well formed but this server does not do it (runs are
    /// refused here, say).
    #[error("{0}")]
    Refused(String),
    /// A rate limit refused the call.
    #[error(
        "rate limit: {tool} allows {burst} call(s) at once, then one per {interval_ms} ms, per client; retry in {retry_after_ms} ms"
    )]
    RateLimited {
        /// The tool's wire name.
        tool: String,
        /// Calls allowed at once.
        burst: u32,
        /// How long one call's allowance takes to come back.
        interval_ms: u128,
        /// When the call may be retried.
        retry_after_ms: u128,
    },
    /// The coordinator refused or failed the call (an unknown expert, run
    /// or workflow; a definition with problems; the backend is down);
    /// `transient` says whether the same call may succeed later.
    #[error("{message}")]
    Failed {
        /// What failed.
        message: String,
        /// Whether a retry may succeed.
        transient: bool,
    },
}

impl ToolError {
    /// Whether the same call may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } => true,
            Self::Failed { transient, .. } => *transient,
            Self::InvalidArguments(_) | Self::Refused(_) => false,
        }
    }

    /// A rate limit's refusal, `retry_after` from now.
    pub(crate) fn rate_limited(
        tool: String,
        limit: crate::RateLimit,
        retry_after: Duration,
    ) -> Self {
        Self::RateLimited {
            tool,
            burst: limit.burst().get(),
            interval_ms: limit.replenish_interval().as_millis(),
            // Round up: retrying at the printed time must succeed.
            retry_after_ms: retry_after.as_millis() + 1,
        }
    }

    /// Bad arguments described by a strict parser's error.
    pub(crate) fn arguments(err: &ProtocolError) -> Self {
        Self::InvalidArguments(err.to_string())
    }

    /// The tool result the client receives: `isError`, the message as
    /// text, and `retryable` in the structured content.
    pub fn into_result(self) -> CallToolResult {
        let mut result = CallToolResult::error(vec![ContentBlock::text(self.to_string())]);
        let retryable = self.is_retryable();
        result.structured_content = Some(serde_json::json!({
            "error": self.to_string(),
            "retryable": retryable,
        }));
        result
    }
}

impl From<CoordinatorError> for ToolError {
    fn from(err: CoordinatorError) -> Self {
        Self::Failed {
            transient: err.is_transient(),
            message: err.to_string(),
        }
    }
}
