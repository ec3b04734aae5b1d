//! Kill and restart Redis under a live backend: calls fail promptly with a
//! transient error during the outage, and both commands and an existing
//! subscription recover afterwards without the caller doing anything.

// Helpers outside #[test] functions fail the test by panicking, like asserts.
#![allow(clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use consort_state::testkit::{RedisServer, random_namespace, redis_server_available};
use consort_state::{Delivery, RedisBackend, RedisConfig, StateBackend, StateError};

const STEP: Duration = Duration::from_millis(500);

async fn expect_message(
    sub: &mut consort_state::Subscription,
    within: Duration,
) -> Option<(String, bytes::Bytes)> {
    match tokio::time::timeout(within, sub.recv()).await {
        Ok(Some(Delivery::Message { topic, payload })) => Some((topic, payload)),
        Ok(Some(Delivery::Lagged { missed })) => panic!("unexpected lag of {missed}"),
        Ok(None) => panic!("subscription ended"),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_redis_restart() {
    if !redis_server_available() {
        assert!(
            std::env::var("CONSORT_REQUIRE_REDIS").map_or(true, |v| v != "1"),
            "CONSORT_REQUIRE_REDIS=1 but redis-server is not on PATH"
        );
        eprintln!("SKIP survives_redis_restart: no redis-server on PATH");
        return;
    }
    // This test kills its server, so it never uses CONSORT_REDIS_URL.
    let mut server = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let cfg = RedisConfig::new(server.url(), random_namespace("fault")).with_timeouts(STEP, STEP);
    let b = Arc::new(RedisBackend::connect(cfg).await.unwrap());

    b.set("k", "before".into(), None).await.unwrap();
    let mut sub = b.subscribe("events:*").await.unwrap();
    b.publish("events:one", "1".into()).await.unwrap();
    let (topic, _) = expect_message(&mut sub, Duration::from_secs(5))
        .await
        .expect("first message");
    assert_eq!(topic, "events:one");

    server.kill();

    // Every call during the outage fails promptly with a transient error.
    for attempt in 0..5 {
        let started = Instant::now();
        let res = tokio::time::timeout(Duration::from_secs(10), b.get("k"))
            .await
            .expect("get hung during the outage");
        let took = started.elapsed();
        match res {
            Err(e @ (StateError::Unavailable { .. } | StateError::Timeout { .. })) => {
                assert!(e.to_string().contains('k'), "error names the key: {e}");
            }
            other => panic!("attempt {attempt}: expected Unavailable/Timeout, got {other:?}"),
        }
        eprintln!("outage attempt {attempt}: get failed after {took:?}");
        // Worst case documented on RedisConfig: 2 x connect + response + 50 ms.
        assert!(
            took < Duration::from_secs(3),
            "attempt {attempt} took {took:?}"
        );
        let res = tokio::time::timeout(Duration::from_secs(10), b.set("k", "during".into(), None))
            .await
            .expect("set hung during the outage");
        assert!(
            res.as_ref().is_err_and(StateError::is_transient),
            "set during outage: {res:?}"
        );
        let res = tokio::time::timeout(
            Duration::from_secs(10),
            b.publish("events:lost", "x".into()),
        )
        .await
        .expect("publish hung during the outage");
        assert!(res.is_err(), "publish during outage: {res:?}");
        let res = tokio::time::timeout(
            Duration::from_secs(10),
            b.acquire_lease("l", "me", Duration::from_secs(1)),
        )
        .await
        .expect("acquire hung during the outage");
        assert!(res.is_err(), "acquire during outage: {res:?}");
    }

    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();

    // Commands recover on the same backend value.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match b.set("k", "after".into(), None).await {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    e.is_transient(),
                    "non-transient error while recovering: {e}"
                );
                assert!(Instant::now() < deadline, "backend did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let got = b.get("k").await.unwrap().unwrap();
    assert_eq!(got.value.as_ref(), b"after");
    assert_eq!(b.increment("c", 2).await.unwrap(), 2);
    let lease = b
        .acquire_lease("l", "me", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert!(b.release_lease(&lease).await.unwrap());

    // The existing subscription is re-established in the background.
    let mut received = false;
    for _ in 0..50 {
        b.publish("events:two", "2".into()).await.unwrap();
        if let Some((topic, payload)) = expect_message(&mut sub, Duration::from_millis(200)).await {
            assert_eq!(
                (topic.as_str(), payload.as_ref()),
                ("events:two", &b"2"[..])
            );
            received = true;
            break;
        }
    }
    assert!(
        received,
        "existing subscription did not receive after the restart"
    );
    // New subscriptions work too.
    let mut fresh = b.subscribe("events:three").await.unwrap();
    b.publish("events:three", "3".into()).await.unwrap();
    assert!(
        expect_message(&mut fresh, Duration::from_secs(5))
            .await
            .is_some()
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_server_times_out() {
    if !redis_server_available() {
        eprintln!("SKIP hung_server_times_out: no redis-server on PATH");
        return;
    }
    let server = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let cfg = RedisConfig::new(server.url(), random_namespace("hung")).with_timeouts(STEP, STEP);
    let b = RedisBackend::connect(cfg).await.unwrap();
    b.set("k", "v".into(), None).await.unwrap();

    server.pause();
    let started = Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(10), b.get("k"))
        .await
        .expect("get hung on a frozen server");
    let took = started.elapsed();
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
    assert!(took < Duration::from_secs(3), "took {took:?}");

    // Thawed: the same backend works again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match b.get("k").await {
            Ok(v) => {
                assert_eq!(v.unwrap().value.as_ref(), b"v");
                break;
            }
            Err(e) => {
                assert!(e.is_transient(), "{e}");
                assert!(Instant::now() < deadline, "no recovery after resume: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
