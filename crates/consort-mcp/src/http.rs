//! consort's tools over streamable HTTP (feature `http`), on axum, with an
//! optional bearer token.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;

use crate::error::{McpError, Result};
use crate::server::ConsortServer;

/// How [`serve_http`] serves: the MCP endpoint's path and the bearer token
/// a request must carry. `Default` serves `/mcp` without a token.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpConfig {
    token: Option<String>,
    path: Option<String>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("path", &self.path())
            .finish()
    }
}

impl HttpConfig {
    /// Requires `Authorization: Bearer <token>` on every request; one
    /// without it gets a 401.
    #[must_use]
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Serves the MCP endpoint at `path` instead of `/mcp`.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The MCP endpoint's path.
    pub fn path(&self) -> &str {
        self.path.as_deref().unwrap_or("/mcp")
    }
}

/// Serves `server` over streamable HTTP on `listener` until `shutdown`
/// completes; then stops accepting, ends open streams and returns.
///
/// rmcp accepts only loopback `Host` headers (a guard against DNS
/// rebinding), which suits the loopback address `consort serve` binds to by
/// default.
pub async fn serve_http(
    server: ConsortServer,
    listener: TcpListener,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    // A reply that is one JSON-RPC response goes back as plain JSON rather
    // than as an SSE stream of one event: the client parses no event stream
    // and the server frames none. rmcp falls back to SSE by itself when a
    // call sends anything before its result (progress, elicitation), and
    // legacy clients keep their sessions.
    let mcp_config = StreamableHttpServerConfig::default().with_json_response(true);
    let streams = mcp_config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        mcp_config,
    );
    let mut app = axum::Router::new().route_service(config.path(), service);
    // Without a token there is nothing to check, and the layer would still
    // box every request's future.
    if let Some(token) = config.token.as_deref() {
        let token: Arc<[u8]> = Arc::from(token.as_bytes());
        app = app.layer(middleware::from_fn_with_state(token, require_token));
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            streams.cancel();
        })
        .await
        .map_err(|source| McpError::Http { addr, source })
}

/// Lets a request through when it carries the token; answers 401
/// otherwise.
async fn require_token(State(token): State<Arc<[u8]>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "));
    match presented {
        Some(presented) if bool::from(presented.ct_eq(&token)) => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required (Authorization: Bearer <CONSORT_MCP_TOKEN>)\n",
        )
            .into_response(),
    }
}
