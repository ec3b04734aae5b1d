//! A real rmcp client talking to a server over an in-memory pipe, with the
//! notifications it received.

// Test support: failing loudly is the right reaction to a broken fixture.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_pass_by_value,
    dead_code,
    unreachable_pub
)]

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig,
    Implementation, NumberOrString, ProgressNotificationParam, ProgressToken, ProtocolVersion,
    RequestMetaObject,
};
use rmcp::model::{ElicitRequestParams, ElicitResult, ElicitationAction};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, NotificationContext, RequestContext, RunningService,
};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServerHandler, ServiceExt};
use serde_json::Value;

/// A client that records the progress notifications it gets.
#[derive(Clone)]
pub struct Recorder {
    config: ClientConfig,
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    /// What the user answers to elicitation requests (none: no elicitation).
    answer: Option<String>,
    /// The questions the server asked.
    pub asked: Arc<Mutex<Vec<String>>>,
    lifecycle: ClientLifecycleMode,
}

impl Recorder {
    pub fn new(name: &str, tasks: bool) -> Self {
        let capabilities = if tasks {
            ClientCapabilities::builder().enable_tasks().build()
        } else {
            ClientCapabilities::default()
        };
        Self {
            config: ClientConfig::new(capabilities, Implementation::new(name, "1.0")),
            progress: Arc::default(),
            answer: None,
            asked: Arc::default(),
            lifecycle: ClientLifecycleMode::Initialize,
        }
    }

    /// A client that supports elicitation and answers every question with
    /// `answer`.
    pub fn answering(name: &str, answer: &str) -> Self {
        let mut recorder = Self::new(name, false);
        recorder.config.capabilities = ClientCapabilities::builder().enable_elicitation().build();
        recorder.answer = Some(answer.to_owned());
        recorder
    }

    /// The same client, speaking protocol `version`: with the `initialize`
    /// handshake up to 2025-11-25, with `server/discover` and per-request
    /// metadata from 2026-07-28 on.
    pub fn speaking(mut self, version: ProtocolVersion) -> Self {
        self.config = self.config.with_protocol_version(version.clone());
        self.lifecycle = if version.has_initialize() {
            ClientLifecycleMode::Initialize
        } else {
            ClientLifecycleMode::Discover {
                preferred_versions: vec![version],
            }
        };
        self
    }

    pub fn messages(&self) -> Vec<String> {
        self.progress
            .lock()
            .unwrap()
            .iter()
            .filter_map(|p| p.message.clone())
            .collect()
    }
}

impl ClientHandler for Recorder {
    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        let mut result = ElicitResult::new(ElicitationAction::Decline);
        if let Some(answer) = &self.answer {
            result = ElicitResult::new(ElicitationAction::Accept);
            result.content = Some(serde_json::json!({"answer": answer}));
        }
        Ok(result)
    }
}

pub type Client = RunningService<RoleClient, Recorder>;

/// Serves `server` on one end of a pipe and connects `client` to the other.
pub async fn connect<S: ServerHandler>(server: S, client: Recorder) -> Client {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let running = server.serve(server_io).await.expect("server starts");
        let _ = running.waiting().await;
    });
    let lifecycle = client.lifecycle.clone();
    client
        .serve_with_lifecycle(client_io, lifecycle)
        .await
        .expect("client connects")
}

/// Calls `tool` with `arguments` (a JSON object), as rmcp's client does:
/// input-required results are answered through the client's handler and
/// the call repeated, until it completes.
pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|e| panic!("{tool}: expected a complete result, got {e}"))
}

/// Calls `tool`, optionally with a progress token, and returns the raw
/// response (a task, when the server made one).
pub async fn call_once(
    client: &Client,
    tool: &str,
    arguments: Value,
    progress: Option<i64>,
) -> CallToolResponse {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    let mut params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
    if let Some(token) = progress {
        let mut meta = RequestMetaObject::default();
        meta.set_progress_token(ProgressToken(NumberOrString::Number(token)));
        params.meta = Some(meta);
    }
    client
        .peer()
        .call_tool_once(params)
        .await
        .expect("the call reaches the server")
}

/// The structured content of a successful result.
pub fn ok(tool: &str, result: CallToolResult) -> Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} failed: {:?}",
        result.content
    );
    let structured = result
        .structured_content
        .unwrap_or_else(|| panic!("{tool}: no structured content"));
    // Hosts that read only `content` must see the same answer.
    let text = result
        .content
        .first()
        .and_then(|block| block.as_text())
        .unwrap_or_else(|| panic!("{tool}: no text block"));
    let copy: Value = serde_json::from_str(&text.text)
        .unwrap_or_else(|e| panic!("{tool}: the text block is not JSON ({e}): {}", text.text));
    assert_eq!(
        copy, structured,
        "{tool}: the text block differs from the structured content"
    );
    structured
}

/// The message of a tool error.
pub fn error(tool: &str, result: CallToolResult) -> String {
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} should fail: {result:?}"
    );
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_else(|| panic!("{tool}: error without text"))
}
