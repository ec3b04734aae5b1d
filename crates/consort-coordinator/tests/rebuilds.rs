//! A burst of registry changes costs the background follower one rebuild of
//! the routing view, not one per change: a server that loads a registry of
//! N experts must not rebuild the router index N times while it starts.

// Integration tests: unwrap/panic report failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use consort_coordinator::Coordinator;
use consort_protocol::{load_registry, seeds};
use consort_router::RouteRequest;
use consort_state::MemoryBackend;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// What the coordinator logs (at debug) each time it rebuilds the view.
const REBUILT: &str = "rebuilt the routing view";

/// Counts the coordinator's rebuild events; ignores everything else.
#[derive(Default)]
struct Rebuilds {
    count: Arc<AtomicUsize>,
    next_span: AtomicU64,
}

impl Subscriber for Rebuilds {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("consort_coordinator")
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        struct Message(bool);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" && format!("{value:?}") == REBUILT {
                    self.0 = true;
                }
            }
        }
        let mut message = Message(false);
        event.record(&mut message);
        if message.0 {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

// One thread: the follower runs only while the test waits, so the whole
// burst is queued by the time it looks.
#[tokio::test(flavor = "current_thread")]
async fn a_burst_of_registrations_costs_the_follower_one_rebuild() {
    let subscriber = Rebuilds::default();
    let rebuilds = Arc::clone(&subscriber.count);
    let _guard = tracing::subscriber::set_default(subscriber);

    let backend = Arc::new(MemoryBackend::new("rebuilds").unwrap());
    let coordinator = Coordinator::builder(backend).build().await.unwrap();
    let experts = load_registry(seeds::EXPERT_REGISTRY).unwrap();
    assert!(experts.len() > 2, "the burst needs several experts");
    let before = rebuilds.load(Ordering::Relaxed);
    for expert in &experts {
        coordinator.register_expert(expert).await.unwrap();
    }
    // The first route rebuilds with every registration in it.
    let decision = coordinator
        .route(&RouteRequest::new(
            "Review the NDA and the contract terms before we sign",
        ))
        .await
        .unwrap();
    assert_eq!(decision.primary.as_deref(), Some("legal_consultant"));
    assert_eq!(rebuilds.load(Ordering::Relaxed) - before, 1);

    // The follower now reads the registry's announcements of the burst.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let by_follower = rebuilds.load(Ordering::Relaxed) - before - 1;
    assert!(
        by_follower <= 1,
        "{} registrations made the follower rebuild the view {by_follower} times",
        experts.len()
    );
}
