//! Progress events: `workflow:*` [`Event`]s published on the backend's bus,
//! topic = the event type (`workflow:step_completed`), payload = the event's
//! JSON. Publishing happens on a background task so a slow bus never delays
//! a step, through transient backend errors within the engine's
//! `backend_retry`; events are at-most-once like all pub/sub. An event the
//! backend knows nobody would receive
//! ([`StateBackend::may_have_subscribers`]) is never built, and a run's
//! channel and publishing task start with its first event that someone may
//! receive: on the memory backend with no watcher, events cost a run
//! nothing.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use consort_protocol::{Event, EventKind, WorkflowProgress};
use consort_state::StateBackend;
use consort_state::retry::{RetryBudget, retry_transient};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::graph::StepInfo;

/// One run's events; `None` inside when the engine publishes none.
#[derive(Debug)]
pub(crate) struct Events(Option<Arc<Publisher>>);

/// Where one run's events go, and what stamps them.
#[derive(Debug)]
struct Publisher {
    channel: Mutex<Channel>,
    /// The runtime the run started on: a progress report may come from
    /// any thread, and the first event starts the publishing task.
    runtime: Handle,
    backend: Arc<dyn StateBackend>,
    budget: RetryBudget,
    source: String,
    run_id: Arc<str>,
    workflow: String,
}

/// The publishing task's queue, opened by the first event: a run nobody
/// watches allocates no channel and spawns no task.
#[derive(Debug)]
enum Channel {
    Unopened,
    Open {
        sender: mpsc::UnboundedSender<Event>,
        task: JoinHandle<()>,
    },
    Closed,
}

impl Events {
    /// Events for one run; none when `enabled` is false or no runtime is
    /// current (nothing could publish them).
    pub(crate) fn new(
        backend: &Arc<dyn StateBackend>,
        budget: RetryBudget,
        enabled: bool,
        source: &str,
        run_id: &Arc<str>,
        workflow: &str,
    ) -> Self {
        let runtime = Handle::try_current().ok().filter(|_| enabled);
        Self(runtime.map(|runtime| {
            Arc::new(Publisher {
                channel: Mutex::new(Channel::Unopened),
                runtime,
                backend: Arc::clone(backend),
                budget,
                source: source.to_owned(),
                run_id: Arc::clone(run_id),
                workflow: workflow.to_owned(),
            })
        }))
    }

    /// Queues an event; a no-op when events are disabled.
    pub(crate) fn emit(
        &self,
        kind: fn(WorkflowProgress) -> EventKind,
        step: Option<(&StepInfo, u32)>,
        percent_complete: f64,
        detail: Option<&str>,
    ) {
        let Some(publisher) = &self.0 else { return };
        if !publisher.backend.may_have_subscribers(type_of(kind)) {
            return;
        }
        let progress = WorkflowProgress {
            run_id: publisher.run_id.to_string(),
            workflow: publisher.workflow.clone(),
            step: step.map(|(info, _)| info.number.to_string()),
            attempt: step.map(|(_, attempt)| attempt),
            percent_complete,
            detail: detail.map(str::to_owned),
        };
        publisher.send(kind(progress));
    }

    /// What executors report their calls' progress through: it holds the
    /// run's publisher weakly, so that a context outliving the run keeps
    /// nothing of it alive.
    pub(crate) fn progress_sink(&self) -> Option<ProgressSink> {
        Some(ProgressSink(Arc::downgrade(self.0.as_ref()?)))
    }

    /// Waits until every queued event is published; events sent later are
    /// dropped.
    pub(crate) async fn close(self) {
        let Some(publisher) = self.0 else { return };
        let channel = std::mem::replace(&mut *publisher.lock(), Channel::Closed);
        if let Channel::Open { sender, task } = channel {
            drop(sender);
            let _ = task.await;
        }
    }
}

impl Publisher {
    fn lock(&self) -> MutexGuard<'_, Channel> {
        self.channel.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stamps and queues an event, opening the channel for the first; its
    /// callers asked whether anyone may receive it before they built it.
    fn send(&self, kind: EventKind) {
        let mut channel = self.lock();
        if matches!(*channel, Channel::Unopened) {
            let (sender, receiver) = mpsc::unbounded_channel();
            let task =
                self.runtime
                    .spawn(publish(Arc::clone(&self.backend), self.budget, receiver));
            *channel = Channel::Open { sender, task };
        }
        if let Channel::Open { sender, .. } = &*channel {
            // The publishing task owns the receiver until the sender is
            // dropped: this send cannot fail.
            let _ = sender.send(Event::now(&self.source, kind));
        }
    }
}

/// Sends `workflow:step_progress` events for one run's calls; see
/// [`StepContext::report_progress`](crate::StepContext::report_progress).
#[derive(Debug)]
pub(crate) struct ProgressSink(Weak<Publisher>);

impl ProgressSink {
    /// Queues the event `build` makes from the workflow's name, if anyone may
    /// receive it (else `build` is never called); a no-op once the run's
    /// publisher closed.
    pub(crate) fn emit(&self, build: impl FnOnce(&str) -> WorkflowProgress) {
        let Some(publisher) = self.0.upgrade() else {
            return;
        };
        if publisher
            .backend
            .may_have_subscribers(type_of(EventKind::StepProgress))
        {
            let progress = build(&publisher.workflow);
            publisher.send(EventKind::StepProgress(progress));
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

#[cfg(test)]
mod tests {
    use consort_state::{Delivery, MemoryBackend};

    use super::*;

    fn opened(events: &Events) -> bool {
        let publisher = events.0.as_ref().expect("events are enabled");
        !matches!(*publisher.lock(), Channel::Unopened)
    }

    #[tokio::test]
    async fn the_publisher_starts_with_the_first_event_someone_may_receive() {
        let backend: Arc<dyn StateBackend> = Arc::new(MemoryBackend::new("events").unwrap());
        let run_id: Arc<str> = Arc::from("run-1");
        let events = Events::new(
            &backend,
            RetryBudget::default(),
            true,
            "test",
            &run_id,
            "wf",
        );
        events.emit(EventKind::WorkflowStarted, None, 0.0, None);
        assert!(!opened(&events), "nobody watches: no channel, no task");

        // A watcher that arrives mid-run gets the events from then on.
        let mut watcher = backend.subscribe("workflow:*").await.unwrap();
        let sink = events.progress_sink().unwrap();
        sink.emit(|workflow| WorkflowProgress {
            run_id: "run-1".to_owned(),
            workflow: workflow.to_owned(),
            step: Some("1".to_owned()),
            attempt: Some(1),
            percent_complete: 0.0,
            detail: Some("1/2".to_owned()),
        });
        assert!(opened(&events));
        events.emit(EventKind::WorkflowCompleted, None, 100.0, None);
        events.close().await;
        sink.emit(|_| unreachable!("the run's publisher is gone"));

        let mut topics = Vec::new();
        for _ in 0..2 {
            match watcher.recv().await.unwrap() {
                Delivery::Message { topic, .. } => topics.push(topic),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(topics, ["workflow:step_progress", "workflow:completed"]);
    }
}
