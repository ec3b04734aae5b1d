//! Progress events: `workflow:*` [`Event`]s published on the backend's bus,
//! topic = the event type (`workflow:step_completed`), payload = the event's
//! JSON. Publishing happens on a background task so a slow bus never delays
//! a step, through transient backend errors within the engine's
//! `backend_retry`; events are at-most-once like all pub/sub. An event the
//! backend knows nobody would receive
//! ([`StateBackend::may_have_subscribers`]) is never built: on the memory
//! backend with no watcher, events cost a step nothing.

use std::sync::Arc;

use consort_protocol::{Event, EventKind, WorkflowProgress};
use consort_state::StateBackend;
use consort_state::retry::{RetryBudget, retry_transient};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::graph::StepInfo;

/// Sends one run's events to the publishing task.
#[derive(Debug)]
pub(crate) struct Events {
    sender: Option<mpsc::UnboundedSender<Event>>,
    task: Option<JoinHandle<()>>,
    backend: Arc<dyn StateBackend>,
    source: String,
    run_id: Arc<str>,
    workflow: String,
}

impl Events {
    pub(crate) fn new(
        backend: &Arc<dyn StateBackend>,
        budget: RetryBudget,
        enabled: bool,
        source: &str,
        run_id: &Arc<str>,
        workflow: &str,
    ) -> Self {
        let (sender, task) = if enabled {
            let (sender, receiver) = mpsc::unbounded_channel();
            (
                Some(sender),
                Some(tokio::spawn(publish(Arc::clone(backend), budget, receiver))),
            )
        } else {
            (None, None)
        };
        Self {
            sender,
            task,
            backend: Arc::clone(backend),
            source: source.to_owned(),
            run_id: Arc::clone(run_id),
            workflow: workflow.to_owned(),
        }
    }

    /// Queues an event; a no-op when events are disabled.
    pub(crate) fn emit(
        &self,
        kind: fn(WorkflowProgress) -> EventKind,
        step: Option<(&StepInfo, u32)>,
        percent_complete: f64,
        detail: Option<&str>,
    ) {
        let Some(sender) = &self.sender else { return };
        if !self.backend.may_have_subscribers(type_of(kind)) {
            return;
        }
        let progress = WorkflowProgress {
            run_id: self.run_id.to_string(),
            workflow: self.workflow.clone(),
            step: step.map(|(info, _)| info.number.to_string()),
            attempt: step.map(|(_, attempt)| attempt),
            percent_complete,
            detail: detail.map(str::to_owned),
        };
        send(sender, &self.source, kind(progress));
    }

    /// What executors report their calls' progress through: it holds the
    /// channel weakly, so that a context outliving the run cannot keep the
    /// publishing task (and [`close`](Self::close)) waiting.
    pub(crate) fn progress_sink(&self) -> Option<ProgressSink> {
        Some(ProgressSink {
            sender: self.sender.as_ref()?.downgrade(),
            backend: Arc::clone(&self.backend),
            source: self.source.clone(),
            workflow: self.workflow.clone(),
        })
    }

    /// Waits until every queued event is published.
    pub(crate) async fn close(mut self) {
        self.sender = None;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Sends `workflow:step_progress` events for one run's calls; see
/// [`StepContext::report_progress`](crate::StepContext::report_progress).
#[derive(Debug)]
pub(crate) struct ProgressSink {
    sender: mpsc::WeakUnboundedSender<Event>,
    backend: Arc<dyn StateBackend>,
    source: String,
    workflow: String,
}

impl ProgressSink {
    /// Queues the event `build` makes from the workflow's name, if anyone may
    /// receive it (else `build` is never called); a no-op once the run's
    /// publisher closed.
    pub(crate) fn emit(&self, build: impl FnOnce(&str) -> WorkflowProgress) {
        let Some(sender) = self.sender.upgrade() else {
            return;
        };
        if self
            .backend
            .may_have_subscribers(type_of(EventKind::StepProgress))
        {
            let progress = build(&self.workflow);
            send(&sender, &self.source, EventKind::StepProgress(progress));
        }
    }
}

/// The type of the events `kind` makes (`workflow:step_started`), found
/// without building one: the data it is given allocates nothing.
fn type_of(kind: fn(WorkflowProgress) -> EventKind) -> &'static str {
    kind(WorkflowProgress {
        run_id: String::new(),
        workflow: String::new(),
        step: None,
        attempt: None,
        percent_complete: 0.0,
        detail: None,
    })
    .event_type()
}

/// Stamps and queues an event; its callers asked whether anyone may
/// receive it before they built it.
fn send(sender: &mpsc::UnboundedSender<Event>, source: &str, kind: EventKind) {
    // A send fails only once the run's publisher closed: nothing left to
    // tell then.
    let _ = sender.send(Event::now(source, kind));
}

async fn publish(
    backend: Arc<dyn StateBackend>,
    budget: RetryBudget,
    mut receiver: mpsc::UnboundedReceiver<Event>,
) {
    while let Some(event) = receiver.recv().await {
        let topic = event.event_type();
        match serde_json::to_vec(&event) {
            Ok(payload) => {
                let payload = bytes::Bytes::from(payload);
                let sent =
                    retry_transient(&budget, || backend.publish(topic, payload.clone())).await;
                if let Err(e) = sent {
                    tracing::warn!(topic, error = %e, "publishing a workflow event failed");
                }
            }
            Err(e) => tracing::warn!(topic, error = %e, "encoding a workflow event failed"),
        }
    }
}
