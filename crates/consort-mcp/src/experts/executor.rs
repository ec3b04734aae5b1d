//! [`McpExecutor`]: runs workflow steps by calling each expert's MCP server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;
use consort_protocol::{CircuitEvent, Event, EventKind};
use consort_registry::{ExpertRegistry, RegistryError, Slot};
use consort_state::{JsonStateExt, StateBackend};
use consort_workflow::{StepContext, StepExecutor, StepOutcome};
use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, CancelledNotification,
    CancelledNotificationParam, ClientRequest, RequestMetaObject, ServerResult,
};
use rmcp::service::{Peer, PeerRequestOptions, RequestHandle, ServiceError};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::circuit::{Admission, Circuit, CircuitState, Transition};
use super::connection::{Connection, ProgressRoutes};
use super::contract::{self, IDEMPOTENCY_META_KEY};
use super::deployment::{Deployment, ExpertServer};
use crate::circuit_record::{self, CircuitRecord};

/// A [`StepExecutor`] that calls each step's expert over MCP, as the
/// deployment says, under the consult contract (docs/mcp.md, "Writing an
/// expert").
///
/// - **One session per expert**, made on first use and shared by every call
///   and run; made again after it breaks (a dead stdio expert is started
///   again).
/// - **At most `max_in_flight` calls per expert**, each holding one of the
///   expert's registry load slots (with [`with_registry`](Self::with_registry))
///   so that routing sees the load.
/// - **Timeouts** cancel the call over MCP (`notifications/cancelled`); so
///   does a call the engine drops (its own timeout, a cancelled run).
/// - **A circuit breaker per expert**: after `failures` failed calls in a row
///   calls fail fast (retryable) for `open_ms`, then one probe decides.
///   Changes are `expert:circuit_opened` and `expert:circuit_closed` events
///   (with [`with_events`](Self::with_events)) and
///   [`circuit`](Self::circuit).
/// - **Failures are classified**: transport errors, timeouts, protocol errors
///   and `isError` answers are retryable (unless the answer says
///   `"retryable": false`); an answer that breaks the contract is not, and
///   says what was expected.
/// - **Progress** notifications from an expert become `workflow:step_progress`
///   events of the step.
#[derive(Debug)]
pub struct McpExecutor {
    /// Looked up once a call: a fast hasher, as the ids are the deployment's.
    experts: HashMap<String, Expert, foldhash::fast::RandomState>,
    registry: Option<ExpertRegistry>,
    events: Option<(Arc<dyn StateBackend>, String)>,
}

/// One deployed expert and the state of calling it.
#[derive(Debug)]
struct Expert {
    id: String,
    server: ExpertServer,
    connection: Connection,
    in_flight: Semaphore,
    circuit: Mutex<Circuit>,
}

/// How a call went, before the contract reads the answer.
#[derive(Debug)]
enum CallError {
    /// No session could be made.
    Connect(String),
    /// The session broke, or the request could not be sent.
    Transport(String),
    /// No answer within the deadline; the call was cancelled over MCP.
    Timeout(Duration),
    /// A JSON-RPC error answer.
    Protocol(String),
}

impl McpExecutor {
    /// Calls the experts of `deployment`; nothing connects until a call
    /// needs it (or [`check`](Self::check)).
    pub fn new(deployment: &Deployment) -> Self {
        let experts = deployment
            .experts()
            .map(|(id, server)| {
                let expert = Expert {
                    id: id.to_owned(),
                    server: server.clone(),
                    // Connecting (starting a process, a handshake) gets the
                    // same allowance as a call.
                    connection: Connection::new(server.transport.clone(), server.timeout),
                    in_flight: Semaphore::new(server.max_in_flight as usize),
                    circuit: Mutex::new(Circuit::new(server.circuit_breaker)),
                };
                (id.to_owned(), expert)
            })
            .collect();
        Self {
            experts,
            registry: None,
            events: None,
        }
    }

    /// Counts each call in flight as a load slot of its expert in `registry`,
    /// so that routing and `experts_list` see it. An expert another process
    /// keeps at its `max_concurrent` gets a retryable failure; one the
    /// registry does not know, or has as offline, is called anyway (the
    /// workflow named it).
    #[must_use]
    pub fn with_registry(mut self, registry: ExpertRegistry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Publishes `expert:circuit_opened` and `expert:circuit_closed` on
    /// `backend`'s bus, with `source` as the events' source, and records an
    /// open circuit in `backend` for the open period, where `experts_list`
    /// shows it to every process.
    #[must_use]
    pub fn with_events(
        mut self,
        backend: Arc<dyn StateBackend>,
        source: impl Into<String>,
    ) -> Self {
        self.events = Some((backend, source.into()));
        self
    }

    /// Whether `expert` is deployed.
    pub fn serves(&self, expert: &str) -> bool {
        self.experts.contains_key(expert)
    }

    /// The state of `expert`'s circuit breaker; `None` if it is not deployed.
    pub fn circuit(&self, expert: &str) -> Option<CircuitState> {
        let expert = self.experts.get(expert)?;
        Some(expert.lock_circuit().state(Instant::now()))
    }

    /// Connects to every deployed expert (in parallel) and lists its tools:
    /// one report per expert, in id order, saying what is wrong, if anything.
    pub async fn check(&self) -> Vec<ExpertCheck> {
        let mut ids: Vec<&Expert> = self.experts.values().collect();
        ids.sort_by(|a, b| a.id.cmp(&b.id));
        futures_util::future::join_all(ids.into_iter().map(Expert::check)).await
    }

    /// Ends every session; stdio experts are stopped.
    pub async fn close(&self) {
        futures_util::future::join_all(self.experts.values().map(|e| e.connection.close())).await;
    }

    /// A slot on the expert's registry load, when there is a registry; an
    /// expert that is full elsewhere is a retryable failure.
    async fn slot(&self, expert: &str) -> Result<Option<Slot>, StepOutcome> {
        let Some(registry) = &self.registry else {
            return Ok(None);
        };
        // Boxed, as only deployments with a registry wait for it.
        match Box::pin(registry.acquire_slot(expert)).await {
            Ok(slot) => Ok(Some(slot)),
            Err(RegistryError::AtCapacity { max, .. }) => Err(StepOutcome::retry(format!(
                "{expert} is at capacity: {max} calls in flight across processes"
            ))),
            Err(error) => {
                tracing::debug!(expert, %error, "calling without a load slot");
                Ok(None)
            }
        }
    }

    /// Tells the world: the event on the bus, and the open circuit's record
    /// (see `circuit_record`) written or deleted. Off the call's path: a
    /// slow backend never delays a step.
    fn publish(&self, expert: &Expert, transition: Transition, detail: &str) {
        let Some((backend, source)) = &self.events else {
            return;
        };
        let expert_id = expert.id.as_str();
        let (kind, record) = match transition {
            Transition::Opened {
                consecutive_failures,
            } => {
                let record = CircuitRecord {
                    state: CircuitState::Open.as_str().to_owned(),
                    consecutive_failures,
                    detail: Some(detail.to_owned()),
                    opened_at: jiff::Timestamp::now().to_string(),
                };
                let kind = EventKind::ExpertCircuitOpened(CircuitEvent {
                    expert_id: expert_id.into(),
                    consecutive_failures,
                    detail: Some(detail.to_owned()),
                });
                (kind, Some(record))
            }
            Transition::Closed => {
                let kind = EventKind::ExpertCircuitClosed(CircuitEvent {
                    expert_id: expert_id.into(),
                    consecutive_failures: 0,
                    detail: None,
                });
                (kind, None)
            }
        };
        let event = Event::now(source.clone(), kind);
        let backend = Arc::clone(backend);
        let key = circuit_record::key(expert_id);
        let open_for = expert.server.circuit_breaker.open_for;
        tokio::spawn(async move {
            let recorded = match record {
                Some(record) => backend
                    .set_json(&key, &record, Some(open_for))
                    .await
                    .map(drop),
                None => backend.delete(&key).await.map(drop),
            };
            if let Err(error) = recorded {
                tracing::warn!(key, %error, "recording a circuit's state failed");
            }
            let topic = event.event_type();
            match serde_json::to_vec(&event) {
                Ok(payload) => {
                    if let Err(error) = backend.publish(topic, payload.into()).await {
                        tracing::warn!(topic, %error, "publishing a circuit event failed");
                    }
                }
                Err(error) => tracing::warn!(topic, %error, "encoding a circuit event failed"),
            }
        });
    }
}

#[async_trait]
impl StepExecutor for McpExecutor {
    async fn execute(&self, ctx: StepContext) -> StepOutcome {
        let id = ctx.expert();
        let Some(expert) = self.experts.get(id) else {
            return StepOutcome::fail(format!("expert {id} is not in the deployment"));
        };
        let admitted = {
            let mut circuit = expert.lock_circuit();
            circuit
                .admit(Instant::now())
                .map_err(|wait| (wait, circuit.consecutive_failures()))
        };
        let admission = match admitted {
            Ok(admission) => admission,
            Err((wait, failures)) => {
                return StepOutcome::retry(format!(
                    "{id}: circuit open after {failures} failed calls in a row; next try in {wait:?}"
                ));
            }
        };
        let mut settle = Settle {
            expert,
            admission,
            settled: false,
        };
        // The semaphore is never closed, so this only waits.
        let Ok(_permit) = expert.in_flight.acquire().await else {
            return StepOutcome::retry(format!("{id}: no call slot"));
        };
        let slot = match self.slot(id).await {
            Ok(slot) => slot,
            Err(outcome) => return outcome,
        };
        let called = expert.call(&ctx).await;
        if let Some(slot) = slot
            && let Err(error) = slot.release().await
        {
            tracing::warn!(expert = id, %error, "releasing a load slot failed");
        }
        let (outcome, healthy) = match called {
            Ok(result) => {
                let outcome = contract::outcome(&ctx, id, result);
                // Only an `isError` answer is a retryable failure here: the
                // expert is up but failing.
                let healthy = !matches!(
                    outcome,
                    StepOutcome::Failed {
                        retryable: true,
                        ..
                    }
                );
                (outcome, healthy)
            }
            Err(error) => (StepOutcome::retry(format!("{id}: {error}")), false),
        };
        let transition = settle.settle(healthy);
        if let Some(transition) = transition {
            let detail = match &outcome {
                StepOutcome::Failed { error, .. } => error.as_str(),
                _ => "",
            };
            self.publish(expert, transition, detail);
        }
        outcome
    }
}

/// Reports the call's end to the circuit breaker exactly once; a call
/// dropped before it ended gives a half-open probe's turn back.
struct Settle<'e> {
    expert: &'e Expert,
    admission: Admission,
    settled: bool,
}

impl Settle<'_> {
    fn settle(&mut self, healthy: bool) -> Option<Transition> {
        self.settled = true;
        let mut circuit = self.expert.lock_circuit();
        let transition = if healthy {
            circuit.succeeded(self.admission)
        } else {
            circuit.failed(self.admission, Instant::now())
        };
        match transition {
            Some(Transition::Opened {
                consecutive_failures,
            }) => tracing::warn!(
                expert = %self.expert.id,
                consecutive_failures,
                "circuit opened"
            ),
            Some(Transition::Closed) => tracing::info!(expert = %self.expert.id, "circuit closed"),
            None => {}
        }
        transition
    }
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.expert.lock_circuit().abandoned(self.admission);
        }
    }
}

impl Expert {
    fn lock_circuit(&self) -> std::sync::MutexGuard<'_, Circuit> {
        // Every update is one method call on a plain value: consistent even
        // if a panic interrupted another holder.
        self.circuit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One consult call, cancelled over MCP if it times out or is dropped.
    ///
    /// The engine boxes every step's future, so its size is paid for each
    /// step: rmcp's send and `await_response` futures are 2.7 KB each, and a
    /// box that large misses the allocator's per-thread cache. So the
    /// request is sent in place (see [`send`](Self::send)) and the answer is
    /// awaited on its channel, under this call's own deadline.
    async fn call(&self, ctx: &StepContext) -> Result<CallToolResult, CallError> {
        let handle = {
            let peer = self.connection.peer().await.map_err(CallError::Connect)?;
            self.send(&peer, ctx)
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?
        };
        let mut pending = Pending::new(handle, self.connection.routes(), ctx);
        // Dropped unanswered, `pending` cancels the call over MCP.
        match pending.answer(self.server.timeout).await {
            None => Err(CallError::Timeout(self.server.timeout)),
            Some(Ok(ServerResult::CallToolResult(result))) => Ok(result),
            Some(Ok(_)) => Err(CallError::Protocol(
                "the answer to tools/call is not a tool result".to_owned(),
            )),
            Some(Err(ServiceError::McpError(error))) => {
                Err(CallError::Protocol(error.message.into()))
            }
            Some(Err(error)) => Err(CallError::Transport(error.to_string())),
        }
    }

    /// Sends the consult request. rmcp's send future finishes on its first
    /// poll unless the session's outgoing queue is full or the task's
    /// cooperative budget is spent (a burst of calls started in one turn),
    /// so it is polled in place, outside this call's state; only then does
    /// it wait, boxed, with the request built again.
    async fn send(
        &self,
        peer: &Peer<RoleClient>,
        ctx: &StepContext,
    ) -> Result<RequestHandle<RoleClient>, ServiceError> {
        let request = || {
            let params = CallToolRequestParams::new(self.server.tool.clone())
                .with_arguments(contract::arguments(ctx));
            let mut meta = RequestMetaObject::new();
            meta.insert(
                IDEMPOTENCY_META_KEY.to_owned(),
                ctx.idempotency_key().into(),
            );
            // No rmcp timeout: `call` keeps the deadline.
            let options = PeerRequestOptions::no_options().with_meta(meta);
            (
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                options,
            )
        };
        {
            let (first, options) = request();
            // Pinned where it is made, on this poll's stack: moved into the
            // call's state, or into `now_or_never`, it would be copied again.
            let sending = std::pin::pin!(peer.send_cancellable_request(first, options));
            if let Poll::Ready(sent) = sending.poll(&mut Context::from_waker(Waker::noop())) {
                return sent;
            }
            // Dropped at the end of this block, so that it stays out of this
            // call's state and, if it found the queue full, gives its place
            // in line back before the send below; it queued nothing.
        }
        let (again, options) = request();
        Box::pin(peer.send_cancellable_request(again, options)).await
    }

    async fn check(&self) -> ExpertCheck {
        let problem = match self.connection.peer().await {
            Err(error) => Some(format!("unreachable: {error}")),
            Ok(peer) => {
                match tokio::time::timeout(self.server.timeout, peer.list_all_tools()).await {
                    Err(_) => Some(format!(
                        "listing its tools took longer than {:?}",
                        self.server.timeout
                    )),
                    Ok(Err(error)) => Some(format!("listing its tools failed: {error}")),
                    Ok(Ok(tools)) if tools.iter().any(|t| t.name == self.server.tool) => None,
                    Ok(Ok(tools)) => {
                        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
                        Some(format!(
                            "has no tool {:?} (it has: {})",
                            self.server.tool,
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                names.join(", ")
                            }
                        ))
                    }
                }
            }
        };
        ExpertCheck {
            expert: self.id.clone(),
            tool: self.server.tool.clone(),
            problem,
        }
    }
}

/// A request sent and not yet answered: dropping it unanswered tells the
/// expert (`notifications/cancelled`) and stops routing its progress.
struct Pending<'c> {
    handle: RequestHandle<RoleClient>,
    answered: bool,
    routes: &'c ProgressRoutes,
}

impl<'c> Pending<'c> {
    /// Routes the request's progress to `ctx` until it ends.
    fn new(
        handle: RequestHandle<RoleClient>,
        routes: &'c ProgressRoutes,
        ctx: &StepContext,
    ) -> Self {
        routes.add(handle.progress_token.clone(), ctx.clone());
        Self {
            handle,
            answered: false,
            routes,
        }
    }

    /// Waits up to `limit` for the answer; `None` when the time ran out.
    async fn answer(&mut self, limit: Duration) -> Option<Result<ServerResult, ServiceError>> {
        let answer = tokio::time::timeout(limit, &mut self.handle.rx)
            .await
            .ok()?;
        self.answered = true;
        Some(answer.unwrap_or(Err(ServiceError::TransportClosed)))
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.routes.remove(&self.handle.progress_token);
        if self.answered {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let notification = CancelledNotification::new(CancelledNotificationParam::new(
            Some(self.handle.id.clone()),
            Some("the step was cancelled or timed out".to_owned()),
        ));
        let peer = self.handle.peer.clone();
        runtime.spawn(async move {
            let _ = peer.send_notification(notification.into()).await;
        });
    }
}

/// What [`McpExecutor::check`] found for one expert.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExpertCheck {
    /// The expert.
    pub expert: String,
    /// The consult tool it should have.
    pub tool: String,
    /// What is wrong; `None` when it answered and has the tool.
    pub problem: Option<String>,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
            Self::Transport(e) => write!(f, "the MCP session failed: {e}"),
            Self::Timeout(limit) => write!(f, "no answer within {limit:?}; the call was cancelled"),
            Self::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}
