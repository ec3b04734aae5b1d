//! Publish/subscribe: delivery, order, patterns, lag.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::who;
use crate::backend::{Delivery, StateBackend, Subscription};

async fn next(w: &str, sub: &mut Subscription) -> Delivery {
    match tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
        Ok(Some(d)) => d,
        Ok(None) => panic!("{w}: subscription ended"),
        Err(_) => panic!("{w}: no delivery within 5 s"),
    }
}

async fn next_message(w: &str, sub: &mut Subscription) -> (String, Bytes) {
    match next(w, sub).await {
        Delivery::Message { topic, payload } => (topic, payload),
        Delivery::Lagged { missed } => panic!("{w}: unexpected lag of {missed:?}"),
    }
}

/// Exact-topic delivery, per-publisher order, and no delivery after drop.
pub async fn pubsub_delivery(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let mut sub = b.subscribe("events:tasks").await.unwrap();
    let mut sub2 = b.subscribe("events:tasks").await.unwrap();
    for i in 0..200u32 {
        b.publish("events:tasks", Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    b.publish("events:tasks:sub", Bytes::from_static(b"not exact"))
        .await
        .unwrap();
    b.publish("events:task", Bytes::from_static(b"not exact"))
        .await
        .unwrap();
    for i in 0..200u32 {
        let (topic, payload) = next_message(&w, &mut sub).await;
        assert_eq!(topic, "events:tasks", "{w}");
        assert_eq!(payload, Bytes::from(i.to_string()), "{w}: out of order");
    }
    for i in 0..200u32 {
        let (_, payload) = next_message(&w, &mut sub2).await;
        assert_eq!(
            payload,
            Bytes::from(i.to_string()),
            "{w}: second subscriber"
        );
    }
    b.publish("events:tasks", Bytes::from_static(b"last"))
        .await
        .unwrap();
    let (_, payload) = next_message(&w, &mut sub).await;
    assert_eq!(
        payload.as_ref(),
        b"last",
        "{w}: exact subscription got another topic"
    );
    drop(sub2);
    // Publishing to a topic nobody listens to is fine.
    b.publish("events:nobody", Bytes::new()).await.unwrap();
}

/// `*` patterns: `task:*` receives `task:claimed`, not `file:locked`.
pub async fn pubsub_patterns(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let mut tasks = b.subscribe("task:*").await.unwrap();
    let mut run = b.subscribe("workflow:run-1:*").await.unwrap();
    let mut all = b.subscribe("*").await.unwrap();
    for topic in ["task:claimed", "workflow:run-1:step:done", "file:locked"] {
        assert!(
            b.may_have_subscribers(topic),
            "{w}: a subscriber listens on {topic}"
        );
    }
    b.publish("file:locked", Bytes::from_static(b"f"))
        .await
        .unwrap();
    b.publish("task:claimed", Bytes::from_static(b"t"))
        .await
        .unwrap();
    b.publish("workflow:run-2:step", Bytes::from_static(b"r2"))
        .await
        .unwrap();
    b.publish("workflow:run-1:step:done", Bytes::from_static(b"r1"))
        .await
        .unwrap();
    b.publish("task:[x]?", Bytes::from_static(b"glob chars are literal"))
        .await
        .unwrap();
    assert_eq!(
        next_message(&w, &mut tasks).await,
        ("task:claimed".into(), Bytes::from_static(b"t")),
        "{w}"
    );
    assert_eq!(next_message(&w, &mut tasks).await.0, "task:[x]?", "{w}");
    assert_eq!(
        next_message(&w, &mut run).await.0,
        "workflow:run-1:step:done",
        "{w}"
    );
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(next_message(&w, &mut all).await.0);
    }
    assert_eq!(
        got[0], "file:locked",
        "{w}: `*` sees everything, in order: {got:?}"
    );
    assert_eq!(got.len(), 5, "{w}");
    let mut literal = b.subscribe("task:[x]?").await.unwrap();
    b.publish("task:x", Bytes::new()).await.unwrap();
    b.publish("task:[x]?", Bytes::new()).await.unwrap();
    assert_eq!(
        next_message(&w, &mut literal).await.0,
        "task:[x]?",
        "{w}: only `*` is special"
    );
}

/// A subscriber that does not read while `burst` messages are published is
/// told how many it missed, then keeps receiving.
pub async fn pubsub_lag_reported(b: Arc<dyn StateBackend>, burst: usize) {
    let w = who(&*b);
    let mut slow = b.subscribe("lag:*").await.unwrap();
    let payload = Bytes::from(vec![b'x'; 64]);
    for _ in 0..burst {
        b.publish("lag:burst", payload.clone()).await.unwrap();
    }
    b.publish("lag:end", Bytes::new()).await.unwrap();
    let mut missed_total = 0u64;
    let mut received = 0u64;
    loop {
        match next(&w, &mut slow).await {
            Delivery::Lagged { missed } => {
                let missed = missed.unwrap_or_else(|| {
                    panic!("{w}: a lag without a lost connection must count the missed messages")
                });
                assert!(missed > 0, "{w}: Lagged with 0 missed");
                missed_total += missed;
            }
            Delivery::Message { topic, .. } => {
                received += 1;
                if topic == "lag:end" {
                    break;
                }
            }
        }
    }
    assert!(
        missed_total > 0,
        "{w}: no lag reported after a burst of {burst} unread messages"
    );
    assert!(
        received + missed_total >= burst as u64,
        "{w}: {received} received + {missed_total} missed < {burst}"
    );
    // Still usable after lagging.
    b.publish("lag:after", Bytes::from_static(b"ok"))
        .await
        .unwrap();
    assert_eq!(next_message(&w, &mut slow).await.0, "lag:after", "{w}");
}
