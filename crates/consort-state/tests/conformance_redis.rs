//! The conformance suite against `RedisBackend`, one test per case, each on a
//! private redis-server (or `CONSORT_REDIS_URL`) and a random namespace.

use consort_state::conformance;
use consort_state::testkit::redis_url_or_skip;
use consort_state::{RedisBackend, RedisConfig, StateBackend};

// The target (not just its URL) is the factory, so a private server lives
// until the test ends.
consort_state::conformance_tests!(|test: &'static str| redis_url_or_skip(test));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_with_a_small_buffer() {
    let Some(target) = redis_url_or_skip("lag_with_a_small_buffer").await else {
        return;
    };
    let b = RedisBackend::connect(target.config().with_event_buffer(64))
        .await
        .unwrap();
    conformance::pubsub_lag_reported(std::sync::Arc::new(b), 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backends_share_one_namespace() {
    let Some(target) = redis_url_or_skip("two_backends_share_one_namespace").await else {
        return;
    };
    let cfg = target.config();
    let a = RedisBackend::connect(cfg.clone()).await.unwrap();
    let b = RedisBackend::connect(cfg).await.unwrap();
    let va = a.set("shared", "from-a".into(), None).await.unwrap();
    let got = b.get("shared").await.unwrap().unwrap();
    assert_eq!((got.value.as_ref(), got.version), (&b"from-a"[..], va));
    let vb = b.set("shared", "from-b".into(), None).await.unwrap();
    assert_ne!(va, vb, "two writers never produce the same version");
    let mut sub = b.subscribe("x:*").await.unwrap();
    a.publish("x:1", "hi".into()).await.unwrap();
    let d = tokio::time::timeout(std::time::Duration::from_secs(5), sub.recv())
        .await
        .unwrap();
    assert!(matches!(d, Some(consort_state::Delivery::Message { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_scheme_is_documented_one() {
    let Some(target) = redis_url_or_skip("key_scheme_is_documented_one").await else {
        return;
    };
    let cfg = target.config();
    let ns = cfg.namespace.clone();
    let b = RedisBackend::connect(cfg).await.unwrap();
    b.set("servers:registry", "x".into(), None).await.unwrap();
    b.increment("hits", 1).await.unwrap();
    let client = redis::Client::open(target.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let stored: Vec<u8> = redis::cmd("GET")
        .arg(format!("{ns}:kv:servers:registry"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(&stored[8..], b"x");
    let hits: i64 = redis::cmd("GET")
        .arg(format!("{ns}:ctr:hits"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(hits, 1);
    // A value this crate did not write is reported, not misread.
    let _: () = redis::cmd("SET")
        .arg(format!("{ns}:kv:foreign"))
        .arg("abc")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(
        b.get("foreign").await,
        Err(consort_state::StateError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn connect_to_nothing_fails_fast() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = RedisConfig::new(format!("redis://127.0.0.1:{port}/"), "nothing")
        .with_connect_timeout(std::time::Duration::from_millis(300))
        .with_response_timeout(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = RedisBackend::connect(cfg).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let bad = RedisBackend::connect(RedisConfig::new("not a url", "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(bad, consort_state::StateError::InvalidConfig { .. }),
        "{bad}"
    );
    assert!(
        std::error::Error::source(&bad).is_some_and(|s| s.is::<redis::RedisError>()),
        "the redis error is kept as the source: {bad:?}"
    );
}
