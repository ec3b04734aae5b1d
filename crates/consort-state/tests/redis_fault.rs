//! Redis faults under a live backend, each on a private server with AOF
//! (`testkit::durable_server_or_skip`): a crash and restart, a frozen
//! server, `CLIENT KILL` of every connection, a refused password. Calls fail
//! promptly with the right error, `retry_transient` rides through the
//! outage, a batch sent into a frozen server applies exactly once, and an
//! existing subscription reports the gap and keeps working.

// Helpers outside #[test] functions fail the test by panicking, like asserts.
#![allow(clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use consort_state::retry::{BatchOutcome, RetryBudget, apply_once, retry_transient};
use consort_state::testkit::{RedisServer, durable_server_or_skip, random_namespace};
use consort_state::{
    Batch, Delivery, Expect, Receipt, RedisBackend, RedisConfig, StateBackend, StateError,
    Subscription,
};

const STEP: Duration = Duration::from_millis(500);

fn config(server: &RedisServer, prefix: &str) -> RedisConfig {
    RedisConfig::new(server.url(), random_namespace(prefix))
        .with_connect_timeout(STEP)
        .with_response_timeout(STEP)
}

async fn next_delivery(sub: &mut Subscription, within: Duration) -> Option<Delivery> {
    match tokio::time::timeout(within, sub.recv()).await {
        Ok(Some(d)) => Some(d),
        Ok(None) => panic!("subscription ended"),
        Err(_) => None,
    }
}

/// After a lost connection: the subscription says messages may be lost
/// (`Lagged { missed: None }`), then delivers what is published afterwards.
async fn expect_gap_then_delivery(b: &RedisBackend, sub: &mut Subscription, topic: &str) {
    let mut gap = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        // Publishing fails while the command connection is still reconnecting.
        let _ = b.publish(topic, "after".into()).await;
        match next_delivery(sub, Duration::from_millis(200)).await {
            Some(Delivery::Lagged { missed: None }) => gap = true,
            Some(Delivery::Message { topic: t, payload }) if gap => {
                assert_eq!((t.as_str(), payload.as_ref()), (topic, &b"after"[..]));
                return;
            }
            Some(Delivery::Message { .. }) => {
                panic!("a message arrived after the reconnect before the gap was reported")
            }
            Some(other) => panic!("unexpected delivery {other:?}"),
            None => {}
        }
    }
    panic!("no gap report (gap seen: {gap}) and delivery within 20 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_redis_restart() {
    let Some(mut server) = durable_server_or_skip("survives_redis_restart").await else {
        return;
    };
    let b = Arc::new(
        RedisBackend::connect(config(&server, "restart"))
            .await
            .unwrap(),
    );
    b.set("k", "before".into(), None).await.unwrap();
    let mut sub = b.subscribe("events:*").await.unwrap();
    b.publish("events:one", "1".into()).await.unwrap();
    assert!(matches!(
        next_delivery(&mut sub, Duration::from_secs(5)).await,
        Some(Delivery::Message { .. })
    ));

    server.kill();

    // Every call during the outage fails promptly with a transient error.
    for attempt in 0..3 {
        let started = Instant::now();
        let res = tokio::time::timeout(Duration::from_secs(10), b.get("k"))
            .await
            .expect("get hung during the outage");
        match res {
            Err(e) if e.is_transient() => {
                assert!(e.to_string().contains("`k`"), "error names the key: {e}");
            }
            other => panic!("attempt {attempt}: expected a transient error, got {other:?}"),
        }
        // Worst case documented on RedisConfig: 2 x connect + response + 50 ms.
        assert!(
            started.elapsed() < 3 * STEP + Duration::from_secs(1),
            "attempt {attempt} took {:?}",
            started.elapsed()
        );
        for res in [
            b.set("k", "during".into(), None).await.map(drop),
            b.publish("events:lost", "x".into()).await,
            b.acquire_lease("l", "me", Duration::from_secs(1))
                .await
                .map(drop),
        ] {
            assert!(res.as_ref().is_err_and(StateError::is_transient), "{res:?}");
        }
    }

    // A retried write started during the outage lands once Redis is back.
    let writer = {
        let b = Arc::clone(&b);
        tokio::spawn(async move {
            retry_transient(&RetryBudget::default(), || b.set("k", "after".into(), None)).await
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server = tokio::task::spawn_blocking(move || {
        server.start_again();
        server
    })
    .await
    .unwrap();
    let version = writer.await.unwrap().expect("retried through the outage");
    let got = b.get("k").await.unwrap().unwrap();
    assert_eq!((got.value.as_ref(), got.version), (&b"after"[..], version));
    assert_eq!(b.increment("c", 2).await.unwrap(), 2);

    // The existing subscription is re-established in the background.
    expect_gap_then_delivery(&b, &mut sub, "events:two").await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_crash_with_aof() {
    let Some(mut server) = durable_server_or_skip("data_survives_a_crash_with_aof").await else {
        return;
    };
    let cfg = config(&server, "aof");
    let b = RedisBackend::connect(cfg.clone()).await.unwrap();
    let v = b.set("k", "kept".into(), None).await.unwrap();
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    let fresh = RedisBackend::connect(cfg).await.unwrap();
    let got = fresh
        .get("k")
        .await
        .unwrap()
        .expect("acknowledged write kept");
    assert_eq!((got.value.as_ref(), got.version), (&b"kept"[..], v));
    // A new writer never reuses the old one's versions.
    assert_ne!(fresh.set("k", "new".into(), None).await.unwrap(), v);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_server_times_out() {
    let Some(server) = durable_server_or_skip("hung_server_times_out").await else {
        return;
    };
    let b = RedisBackend::connect(config(&server, "hung"))
        .await
        .unwrap();
    b.set("k", "v".into(), None).await.unwrap();

    server.pause();
    let res = tokio::time::timeout(Duration::from_secs(10), b.get("k"))
        .await
        .expect("get hung on a frozen server");
    server.resume();
    match res {
        Err(StateError::Timeout {
            operation,
            key_or_topic,
            after,
        }) => {
            assert_eq!(
                (operation, key_or_topic.as_str(), after),
                ("get", "k", STEP)
            );
        }
        other => panic!("expected Timeout from a frozen server, got {other:?}"),
    }
    // Thawed: the same backend works again.
    let v = retry_transient(&RetryBudget::default(), || b.get("k"))
        .await
        .unwrap();
    assert_eq!(v.unwrap().value.as_ref(), b"v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sent_into_a_frozen_server_applies_once() {
    let Some(server) =
        durable_server_or_skip("a_batch_sent_into_a_frozen_server_applies_once").await
    else {
        return;
    };
    let b = Arc::new(
        RedisBackend::connect(config(&server, "frozen"))
            .await
            .unwrap(),
    );
    let lease = b
        .acquire_lease("run", "engine", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    // Load the batch script first: a request queued into the frozen server
    // must be able to run when it thaws (an unknown script would not).
    b.apply(Batch::new().guarded_by(&lease).set("warm", "up", None))
        .await
        .unwrap();
    // A compare-and-set that must not apply twice.
    let batch = Batch::new()
        .guarded_by(&lease)
        .compare_and_set("run:record", Expect::Absent, "started", None)
        .set("run:step:1", "done", None);
    let receipt = Receipt::new("run:receipts:1");

    server.pause();
    let applying = {
        let b = Arc::clone(&b);
        let receipt = receipt.clone();
        tokio::spawn(async move { apply_once(&*b, batch, &receipt, &RetryBudget::default()).await })
    };
    // Several attempts time out against the frozen server, their requests
    // queued on the connection; the server runs them all when it thaws.
    tokio::time::sleep(4 * STEP).await;
    server.resume();
    let outcome = applying.await.unwrap().expect("reconciled");
    // The first attempt ran when the server thawed, after its reply had
    // timed out: a later attempt was refused and the receipt settled it.
    assert_eq!(outcome, BatchOutcome::AlreadyApplied);
    assert!(receipt.applied(&*b).await.unwrap());
    let record = b.get("run:record").await.unwrap().expect("applied");
    assert_eq!(record.value.as_ref(), b"started");
    // Exactly once: applying it again is refused, on the receipt or the CAS.
    let again = b
        .apply(
            Batch::new()
                .guarded_by(&lease)
                .compare_and_set("run:record", Expect::Absent, "started", None)
                .with_receipt(&receipt),
        )
        .await;
    assert!(
        matches!(again, Err(StateError::VersionConflict { .. })),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_kill_is_ridden_through() {
    let Some(server) = durable_server_or_skip("client_kill_is_ridden_through").await else {
        return;
    };
    let b = RedisBackend::connect(config(&server, "kill"))
        .await
        .unwrap();
    let mut sub = b.subscribe("events:*").await.unwrap();
    b.set("k", "v".into(), None).await.unwrap();

    let killed = server.kill_clients();
    assert!(killed >= 2, "command and pub/sub connections: {killed}");

    // The first call on the dead connection may fail, transiently; retried,
    // it succeeds on a new one.
    let first = b.get("k").await;
    assert!(
        first
            .as_ref()
            .map_or_else(StateError::is_transient, Option::is_some),
        "{first:?}"
    );
    let got = retry_transient(&RetryBudget::default(), || b.get("k"))
        .await
        .unwrap();
    assert_eq!(got.unwrap().value.as_ref(), b"v");
    expect_gap_then_delivery(&b, &mut sub, "events:after-kill").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_says_authentication_failed() {
    let Some(server) =
        durable_server_or_skip("a_refused_password_says_authentication_failed").await
    else {
        return;
    };
    server.require_password("s3cret");
    let port = server.port();
    for url in [
        format!("redis://:wrong@127.0.0.1:{port}/"),
        format!("redis://127.0.0.1:{port}/"),
    ] {
        let err = RedisBackend::connect(RedisConfig::new(url.clone(), "auth"))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, StateError::AuthenticationFailed { .. }),
            "{url}: {err:?}"
        );
        assert!(msg.contains("authentication failed"), "{msg}");
        assert!(!msg.contains("wrong"), "the password leaked: {msg}");
        assert!(!err.is_transient(), "{msg}");
    }
    let ok = RedisBackend::connect(RedisConfig::new(
        format!("redis://:s3cret@127.0.0.1:{port}/"),
        "auth",
    ))
    .await;
    assert!(ok.is_ok(), "{ok:?}");
}
