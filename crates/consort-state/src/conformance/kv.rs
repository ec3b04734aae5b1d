//! Values, versions, TTL, compare-and-set, listing, batches, namespaces.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{list_all, who};
use crate::backend::{Batch, Expect, StateBackend};
use crate::error::StateError;

/// get/set/delete/get_many/expire round trips and version basics.
pub async fn basic_crud(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    assert!(
        b.get("crud:missing").await.unwrap().is_none(),
        "{w}: missing key"
    );
    let v1 = b
        .set("crud:a", Bytes::from_static(b"one"), None)
        .await
        .unwrap();
    assert!(v1 > 0, "{w}: versions are > 0");
    let got = b.get("crud:a").await.unwrap().expect("value just set");
    assert_eq!((got.value.as_ref(), got.version), (&b"one"[..], v1), "{w}");
    let v2 = b
        .set("crud:a", Bytes::from_static(b"two"), None)
        .await
        .unwrap();
    assert_ne!(v1, v2, "{w}: every write changes the version");
    b.set("crud:b", Bytes::new(), None).await.unwrap();
    let empty = b
        .get("crud:b")
        .await
        .unwrap()
        .expect("empty value is a value");
    assert!(empty.value.is_empty(), "{w}");

    let many = b
        .get_many(&["crud:b".into(), "crud:missing".into(), "crud:a".into()])
        .await
        .unwrap();
    assert_eq!(many.len(), 3, "{w}");
    assert!(many[0].as_ref().is_some_and(|v| v.value.is_empty()), "{w}");
    assert!(many[1].is_none(), "{w}");
    assert_eq!(
        many[2].as_ref().map(|v| v.version),
        Some(v2),
        "{w}: get_many order"
    );
    assert!(b.get_many(&[]).await.unwrap().is_empty(), "{w}");

    assert!(b.delete("crud:a").await.unwrap(), "{w}: delete existing");
    assert!(!b.delete("crud:a").await.unwrap(), "{w}: delete missing");
    assert!(b.get("crud:a").await.unwrap().is_none(), "{w}");

    assert!(
        !b.expire("crud:a", Duration::from_secs(5)).await.unwrap(),
        "{w}: expire missing"
    );
    assert!(
        b.expire("crud:b", Duration::from_secs(60)).await.unwrap(),
        "{w}: expire existing"
    );
    assert!(b.get("crud:b").await.unwrap().is_some(), "{w}");
}

/// Versions are unique per key across many writes, including after delete.
pub async fn version_uniqueness(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let mut seen = HashSet::new();
    for i in 0..200u32 {
        let v = b
            .set("ver:k", Bytes::from(i.to_string()), None)
            .await
            .unwrap();
        assert!(v > 0 && seen.insert(v), "{w}: version {v} reused or zero");
        if i % 50 == 0 {
            b.delete("ver:k").await.unwrap();
        }
    }
    let v = b
        .compare_and_set(
            "ver:k",
            Expect::Version(*seen.iter().max().unwrap()),
            Bytes::new(),
            None,
        )
        .await;
    // Only the latest version may match; whichever it is, a CAS on it must
    // produce yet another new version.
    if let Ok(v) = v {
        assert!(seen.insert(v), "{w}: CAS reused version {v}");
    }
}

/// `time_to_live` answers for several keys at once: what is left of a TTL,
/// `None` for a key without expiry and for a missing one, in key order.
pub async fn time_to_live(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    b.set(
        "ttl-left:short",
        Bytes::from_static(b"x"),
        Some(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    b.set("ttl-left:forever", Bytes::from_static(b"y"), None)
        .await
        .unwrap();
    let keys: Vec<String> = ["ttl-left:short", "ttl-left:forever", "ttl-left:missing"]
        .into_iter()
        .map(String::from)
        .collect();
    let left = b.time_to_live(&keys).await.unwrap();
    assert_eq!(left.len(), 3, "{w}");
    let short = left[0].unwrap_or_else(|| panic!("{w}: a key with a TTL has time left"));
    assert!(
        short <= Duration::from_secs(30) && short > Duration::from_secs(20),
        "{w}: {short:?} left of 30 s"
    );
    assert_eq!(left[1], None, "{w}: a key without expiry");
    assert_eq!(left[2], None, "{w}: a missing key");
    assert!(
        b.expire("ttl-left:short", Duration::from_secs(300))
            .await
            .unwrap()
    );
    let renewed = b.time_to_live(&keys[..1]).await.unwrap()[0].unwrap();
    assert!(
        renewed > Duration::from_secs(200),
        "{w}: {renewed:?} after renewal"
    );
    assert!(b.time_to_live(&[]).await.unwrap().is_empty(), "{w}");
    assert!(
        b.time_to_live(&[String::new()]).await.is_err(),
        "{w}: an empty key is refused"
    );
}

/// Expired values are absent for get, get_many, list, CAS and delete.
pub async fn ttl_expiry(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let short = Duration::from_millis(200);
    b.set("ttl:gone", Bytes::from_static(b"x"), Some(short))
        .await
        .unwrap();
    b.set("ttl:kept", Bytes::from_static(b"y"), None)
        .await
        .unwrap();
    b.set("ttl:renewed", Bytes::from_static(b"z"), Some(short))
        .await
        .unwrap();
    b.set("ttl:cas", Bytes::from_static(b"c"), Some(short))
        .await
        .unwrap();
    b.set("ttl:set-clears", Bytes::from_static(b"s"), Some(short))
        .await
        .unwrap();
    assert!(
        b.get("ttl:gone").await.unwrap().is_some(),
        "{w}: not yet expired"
    );
    assert!(
        b.expire("ttl:renewed", Duration::from_secs(30))
            .await
            .unwrap(),
        "{w}"
    );
    // A plain set without TTL makes the key persistent again.
    b.set("ttl:set-clears", Bytes::from_static(b"s2"), None)
        .await
        .unwrap();

    tokio::time::sleep(Duration::from_millis(450)).await;

    assert!(
        b.get("ttl:gone").await.unwrap().is_none(),
        "{w}: get after expiry"
    );
    assert!(
        b.get("ttl:renewed").await.unwrap().is_some(),
        "{w}: expire() extended it"
    );
    assert!(
        b.get("ttl:set-clears").await.unwrap().is_some(),
        "{w}: set cleared the TTL"
    );
    let many = b
        .get_many(&["ttl:gone".into(), "ttl:kept".into()])
        .await
        .unwrap();
    assert!(
        many[0].is_none() && many[1].is_some(),
        "{w}: get_many after expiry"
    );
    let keys = list_all(&*b, "ttl:").await;
    assert!(
        !keys.iter().any(|k| k == "ttl:gone" || k == "ttl:cas"),
        "{w}: list shows expired: {keys:?}"
    );
    assert!(keys.iter().any(|k| k == "ttl:kept"), "{w}");
    b.compare_and_set("ttl:cas", Expect::Absent, Bytes::from_static(b"new"), None)
        .await
        .unwrap_or_else(|e| panic!("{w}: CAS Absent on an expired key must succeed: {e}"));
    assert!(
        !b.expire("ttl:gone", Duration::from_secs(1)).await.unwrap(),
        "{w}: expire on expired"
    );
}

/// Compare-and-set preconditions and the conflict error's content.
pub async fn compare_and_set(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let v1 = b
        .compare_and_set("cas:k", Expect::Absent, Bytes::from_static(b"1"), None)
        .await
        .unwrap();
    match b
        .compare_and_set("cas:k", Expect::Absent, Bytes::from_static(b"x"), None)
        .await
    {
        Err(StateError::VersionConflict {
            key,
            expected,
            actual,
        }) => {
            assert_eq!(
                (key.as_str(), expected, actual),
                ("cas:k", Expect::Absent, Some(v1)),
                "{w}"
            );
        }
        other => panic!("{w}: expected VersionConflict, got {other:?}"),
    }
    let v2 = b
        .compare_and_set("cas:k", Expect::Version(v1), Bytes::from_static(b"2"), None)
        .await
        .unwrap();
    assert_ne!(v1, v2, "{w}");
    let err = b
        .compare_and_set("cas:k", Expect::Version(v1), Bytes::from_static(b"3"), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cas:k"),
        "{w}: message names the key: {err}"
    );
    assert_eq!(
        b.get("cas:k").await.unwrap().unwrap().value.as_ref(),
        b"2",
        "{w}: failed CAS wrote"
    );
    let missing = b
        .compare_and_set(
            "cas:none",
            Expect::Version(v2),
            Bytes::from_static(b"x"),
            None,
        )
        .await;
    assert!(
        matches!(
            missing,
            Err(StateError::VersionConflict { actual: None, .. })
        ),
        "{w}: CAS on missing key: {missing:?}"
    );
    b.delete("cas:k").await.unwrap();
    b.compare_and_set(
        "cas:k",
        Expect::Absent,
        Bytes::from_static(b"again"),
        Some(Duration::from_secs(60)),
    )
    .await
    .unwrap_or_else(|e| panic!("{w}: CAS Absent after delete: {e}"));
}

/// Prefix listing across pages: every key once, nothing from other prefixes.
pub async fn list_pagination(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    const N: usize = 2500;
    for chunk in (0..N).collect::<Vec<_>>().chunks(250) {
        let batch = chunk.iter().fold(Batch::new(), |batch, i| {
            // A TTL keeps a shared test server from filling up with these.
            batch.set(
                format!("list:in:{i:05}"),
                Bytes::from_static(b"v"),
                Some(Duration::from_secs(600)),
            )
        });
        b.apply(batch).await.unwrap();
    }
    for i in 0..50 {
        b.set(&format!("list:other:{i}"), Bytes::new(), None)
            .await
            .unwrap();
        b.set(&format!("list:i{i}"), Bytes::new(), None)
            .await
            .unwrap();
    }
    let mut seen = HashSet::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = b.list("list:in:", cursor.as_ref(), 100).await.unwrap();
        assert!(
            page.keys.len() <= 100,
            "{w}: page over limit: {}",
            page.keys.len()
        );
        for k in page.keys {
            assert!(k.starts_with("list:in:"), "{w}: foreign key {k}");
            assert!(seen.insert(k.clone()), "{w}: key {k} listed twice");
        }
        pages += 1;
        assert!(pages < 10_000, "{w}: listing does not terminate");
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), N, "{w}: every key exactly once");
    // The cap on `limit` applies.
    let big = b.list("list:in:", None, 1_000_000).await.unwrap();
    assert!(
        big.keys.len() <= crate::MAX_LIST_LIMIT,
        "{w}: limit not capped"
    );
    assert!(list_all(&*b, "list:nothing:").await.is_empty(), "{w}");
}

/// Batches are all-or-nothing and apply in order.
pub async fn batch_atomicity(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let vc = b
        .set("batch:c", Bytes::from_static(b"c0"), None)
        .await
        .unwrap();
    b.set("batch:d", Bytes::from_static(b"d0"), None)
        .await
        .unwrap();
    let bad = Batch::new()
        .set("batch:a", &b"a1"[..], None)
        .delete("batch:d")
        .compare_and_set("batch:c", Expect::Version(vc + 12345), &b"c1"[..], None)
        .set("batch:b", &b"b1"[..], None);
    match b.apply(bad).await {
        Err(StateError::VersionConflict { key, actual, .. }) => {
            assert_eq!((key.as_str(), actual), ("batch:c", Some(vc)), "{w}");
        }
        other => panic!("{w}: expected VersionConflict on batch:c, got {other:?}"),
    }
    assert!(
        b.get("batch:a").await.unwrap().is_none(),
        "{w}: partial batch write"
    );
    assert!(
        b.get("batch:b").await.unwrap().is_none(),
        "{w}: partial batch write"
    );
    assert!(
        b.get("batch:d").await.unwrap().is_some(),
        "{w}: partial batch delete"
    );

    let good = Batch::new()
        .set("batch:a", &b"a1"[..], None)
        .compare_and_set(
            "batch:c",
            Expect::Version(vc),
            &b"c1"[..],
            Some(Duration::from_secs(60)),
        )
        .delete("batch:d")
        // Sees the delete just before it.
        .compare_and_set("batch:d", Expect::Absent, &b"d1"[..], None)
        .set("batch:tmp", &b"t"[..], None)
        .delete("batch:tmp");
    let versions = b.apply(good).await.unwrap();
    assert_eq!(versions.len(), 6, "{w}");
    assert!(
        versions[2].is_none() && versions[5].is_none(),
        "{w}: deletes yield None"
    );
    let a = b.get("batch:a").await.unwrap().unwrap();
    assert_eq!(Some(a.version), versions[0], "{w}: returned versions match");
    assert_eq!(
        b.get("batch:c").await.unwrap().unwrap().value.as_ref(),
        b"c1",
        "{w}"
    );
    assert_eq!(
        b.get("batch:d").await.unwrap().unwrap().value.as_ref(),
        b"d1",
        "{w}"
    );
    assert!(b.get("batch:tmp").await.unwrap().is_none(), "{w}");
    assert!(
        b.apply(Batch::new()).await.unwrap().is_empty(),
        "{w}: empty batch"
    );

    // Batches without conditions (backends may take a cheaper path for them).
    let plain = b
        .apply(
            Batch::new()
                .set("batch:p1", &b"1"[..], None)
                .set("batch:p2", &b"2"[..], None),
        )
        .await
        .unwrap();
    let p1 = b.get("batch:p1").await.unwrap().unwrap();
    assert_eq!(
        (Some(p1.version), p1.value.as_ref()),
        (plain[0], &b"1"[..]),
        "{w}"
    );
    assert_ne!(plain[0], plain[1], "{w}");
    let mixed = b
        .apply(Batch::new().delete("batch:p1").set(
            "batch:p2",
            &b"22"[..],
            Some(Duration::from_secs(60)),
        ))
        .await
        .unwrap();
    assert!(
        mixed[0].is_none() && b.get("batch:p1").await.unwrap().is_none(),
        "{w}"
    );
    assert_eq!(
        b.get("batch:p2").await.unwrap().unwrap().version,
        mixed[1].unwrap(),
        "{w}"
    );
}

/// A batch guarded by a lease applies only while that lease is held with that token.
pub async fn batch_guard(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let ttl = Duration::from_millis(300);
    let l1 = b
        .acquire_lease("guard:lease", "one", ttl)
        .await
        .unwrap()
        .expect("free lease");
    b.apply(
        Batch::new()
            .guarded_by(&l1)
            .set("guard:k", &b"by-one"[..], None),
    )
    .await
    .unwrap_or_else(|e| panic!("{w}: guarded batch with a held lease: {e}"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let l2 = b
        .acquire_lease("guard:lease", "two", Duration::from_secs(10))
        .await
        .unwrap()
        .expect("expired lease is free");
    assert!(l2.token > l1.token, "{w}: fencing token must grow");
    let stale = Batch::new()
        .guarded_by(&l1)
        .set("guard:k", &b"stale"[..], None)
        .set("guard:other", &b"stale"[..], None);
    match b.apply(stale).await {
        Err(StateError::LeaseLost { name, token }) => {
            assert_eq!((name.as_str(), token), ("guard:lease", l1.token), "{w}");
        }
        other => panic!("{w}: expected LeaseLost, got {other:?}"),
    }
    assert_eq!(
        b.get("guard:k").await.unwrap().unwrap().value.as_ref(),
        b"by-one",
        "{w}"
    );
    assert!(
        b.get("guard:other").await.unwrap().is_none(),
        "{w}: stale batch wrote"
    );
    b.apply(
        Batch::new()
            .guarded_by(&l2)
            .set("guard:k", &b"by-two"[..], None),
    )
    .await
    .unwrap();
    b.release_lease(&l2).await.unwrap();
    let released = b
        .apply(
            Batch::new()
                .guarded_by(&l2)
                .set("guard:k", &b"late"[..], None),
        )
        .await;
    assert!(
        matches!(released, Err(StateError::LeaseLost { .. })),
        "{w}: guard after release: {released:?}"
    );
}

/// Two namespaces on one store share nothing: values, counters, leases, events.
pub async fn namespace_isolation(a: Arc<dyn StateBackend>, b: Arc<dyn StateBackend>) {
    let w = format!("{} vs {}", who(&*a), who(&*b));
    assert_ne!(
        a.namespace(),
        b.namespace(),
        "{w}: factory gave the same namespace twice"
    );
    a.set("iso:k", Bytes::from_static(b"a"), None)
        .await
        .unwrap();
    assert!(b.get("iso:k").await.unwrap().is_none(), "{w}: value leaked");
    b.set("iso:k", Bytes::from_static(b"b"), None)
        .await
        .unwrap();
    assert_eq!(
        a.get("iso:k").await.unwrap().unwrap().value.as_ref(),
        b"a",
        "{w}"
    );
    assert_eq!(
        list_all(&*b, "iso:").await,
        vec!["iso:k".to_owned()],
        "{w}: list leaked"
    );
    assert_eq!(a.increment("iso:ctr", 5).await.unwrap(), 5, "{w}");
    assert_eq!(
        b.increment("iso:ctr", 1).await.unwrap(),
        1,
        "{w}: counter leaked"
    );
    let la = a
        .acquire_lease("iso:lease", "x", Duration::from_secs(10))
        .await
        .unwrap();
    let lb = b
        .acquire_lease("iso:lease", "y", Duration::from_secs(10))
        .await
        .unwrap();
    assert!(la.is_some() && lb.is_some(), "{w}: lease leaked");
    if a.capabilities().pubsub && b.capabilities().pubsub {
        let mut sub_b = b.subscribe("iso:*").await.unwrap();
        let mut sub_a = a.subscribe("iso:*").await.unwrap();
        a.publish("iso:event", Bytes::from_static(b"from-a"))
            .await
            .unwrap();
        b.publish("iso:event", Bytes::from_static(b"from-b"))
            .await
            .unwrap();
        let got_a = tokio::time::timeout(Duration::from_secs(5), sub_a.recv()).await;
        let got_b = tokio::time::timeout(Duration::from_secs(5), sub_b.recv()).await;
        let payload = |d: Option<crate::Delivery>| match d {
            Some(crate::Delivery::Message { payload, .. }) => payload,
            other => panic!("{w}: expected a message, got {other:?}"),
        };
        assert_eq!(
            payload(got_a.expect("a receives")).as_ref(),
            b"from-a",
            "{w}: event leaked"
        );
        assert_eq!(
            payload(got_b.expect("b receives")).as_ref(),
            b"from-b",
            "{w}: event leaked"
        );
    }
}
