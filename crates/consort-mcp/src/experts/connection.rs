//! One MCP session per expert server, made on first use, shared by every call
//! to that expert and made again after it breaks (a stdio expert whose
//! process died is started again).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use consort_workflow::StepContext;
use rmcp::model::{
    ClientCapabilities, ClientConfig, Implementation, ProgressNotificationParam, ProgressToken,
};
use rmcp::service::{NotificationContext, Peer, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};

use super::deployment::Transport;

/// Calls waiting for progress, by the progress token rmcp gave their request.
/// Every call adds and removes one; the tokens are rmcp's own, so a fast
/// hasher (seeded per map) rather than SipHash.
#[derive(Debug, Default)]
pub(crate) struct ProgressRoutes {
    calls: Mutex<Calls>,
}

type Calls = HashMap<ProgressToken, StepContext, foldhash::fast::RandomState>;

impl ProgressRoutes {
    pub(crate) fn add(&self, token: ProgressToken, ctx: StepContext) {
        self.lock().insert(token, ctx);
    }

    pub(crate) fn remove(&self, token: &ProgressToken) {
        self.lock().remove(token);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        // The map stays consistent through a panic elsewhere: entries are
        // whole values inserted or removed in one call.
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The client side of a session with an expert: forwards its progress
/// notifications to the step they belong to.
#[derive(Debug, Clone)]
pub(crate) struct ExpertClient {
    routes: Arc<ProgressRoutes>,
}

impl ClientHandler for ExpertClient {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let ctx = self.routes.lock().get(&params.progress_token).cloned();
        if let Some(ctx) = ctx {
            ctx.report_progress(params.progress, params.total, params.message.as_deref());
        }
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("consort", env!("CARGO_PKG_VERSION")),
        )
    }
}

type Session = RunningService<RoleClient, ExpertClient>;

/// The session with one expert's server.
#[derive(Debug)]
pub(crate) struct Connection {
    transport: Transport,
    connect_timeout: Duration,
    routes: Arc<ProgressRoutes>,
    session: tokio::sync::Mutex<Option<Session>>,
    /// The live session's peer, which calls take without waiting for the
    /// session's lock. Shared in an `Arc`: cloning a `Peer` touches nine
    /// reference counts in as many allocations, cold by the next call.
    live: Mutex<Option<Arc<Peer<RoleClient>>>>,
}

impl Connection {
    pub(crate) fn new(transport: Transport, connect_timeout: Duration) -> Self {
        Self {
            transport,
            connect_timeout,
            routes: Arc::default(),
            session: tokio::sync::Mutex::default(),
            live: Mutex::default(),
        }
    }

    pub(crate) fn routes(&self) -> &ProgressRoutes {
        &self.routes
    }

    /// The live session's peer, connecting (again) first when there is none
    /// or it broke. Calls that find no session wait for one connection
    /// rather than each starting a process.
    pub(crate) async fn peer(&self) -> Result<Arc<Peer<RoleClient>>, String> {
        if let Some(peer) = self.live_peer() {
            return Ok(peer);
        }
        let mut session = self.session.lock().await;
        if let Some(live) = session.as_ref().filter(|s| is_live(s)) {
            // Another call connected while this one waited for the lock.
            return Ok(self.share(live));
        }
        // Dropping a broken session cancels it and, for stdio, kills what is
        // left of its process.
        *session = None;
        *self.lock_live() = None;
        let client = ExpertClient {
            routes: Arc::clone(&self.routes),
        };
        // Boxed: connecting (a process or an HTTP session, and the MCP
        // handshake) is a future of kilobytes, which every call's future
        // would otherwise carry and copy, though nearly all find a session.
        let connected = Box::pin(tokio::time::timeout(
            self.connect_timeout,
            connect(&self.transport, client),
        ))
        .await
        .map_err(|_| format!("connecting took longer than {:?}", self.connect_timeout))??;
        let peer = self.share(&connected);
        *session = Some(connected);
        Ok(peer)
    }

    /// The shared peer, while its transport is open: a session whose
    /// service ended has dropped its end of the peer's channel.
    fn live_peer(&self) -> Option<Arc<Peer<RoleClient>>> {
        self.lock_live()
            .as_ref()
            .filter(|peer| !peer.is_transport_closed())
            .cloned()
    }

    /// Shares `session`'s peer with the calls to come.
    fn share(&self, session: &Session) -> Arc<Peer<RoleClient>> {
        let peer = Arc::new(session.peer().clone());
        *self.lock_live() = Some(Arc::clone(&peer));
        peer
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, Option<Arc<Peer<RoleClient>>>> {
        // Only ever replaced whole.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the session (a stdio expert's process is stopped).
    pub(crate) async fn close(&self) {
        let mut guard = self.session.lock().await;
        *self.lock_live() = None;
        if let Some(mut session) = guard.take() {
            let _ = session.close_with_timeout(Duration::from_secs(2)).await;
        }
    }
}

/// The innermost error of a chain: rmcp's outer layers repeat the transport
/// type's full name, while the root says what happened (`Connection
/// refused`).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = error;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

fn is_live(session: &Session) -> bool {
    !session.is_closed() && !session.peer().is_transport_closed()
}

async fn connect(transport: &Transport, client: ExpertClient) -> Result<Session, String> {
    match transport {
        Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(command);
            cmd.args(args).envs(env);
            if let Some(cwd) = cwd {
                cmd.current_dir(cwd);
            }
            // The expert's log lines are the operator's to read.
            let (process, _) = TokioChildProcess::builder(cmd)
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("starting {command:?}: {e}"))?;
            client.serve(process).await.map_err(|e| {
                format!(
                    "initializing the MCP session with {command:?}: {}",
                    root_cause(&e)
                )
            })
        }
        Transport::Http { url, headers } => connect_http(url, headers, client).await,
    }
}

#[cfg(feature = "experts-http")]
async fn connect_http(
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    client: ExpertClient,
) -> Result<Session, String> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let mut custom = HashMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = http::HeaderName::try_from(name.as_str())
            .map_err(|e| format!("header name {name:?}: {e}"))?;
        let value = http::HeaderValue::try_from(value.as_str())
            .map_err(|e| format!("value of header {name}: {e}"))?;
        custom.insert(name, value);
    }
    let config = StreamableHttpClientTransportConfig::with_uri(url)
        .custom_headers(custom)
        .reinit_on_expired_session(true);
    client
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .map_err(|e| format!("initializing the MCP session at {url}: {}", root_cause(&e)))
}

#[cfg(not(feature = "experts-http"))]
async fn connect_http(
    url: &str,
    _headers: &std::collections::BTreeMap<String, String>,
    _client: ExpertClient,
) -> Result<Session, String> {
    Err(format!(
        "{url}: reaching experts over HTTP needs consort-mcp's `experts-http` feature"
    ))
}
