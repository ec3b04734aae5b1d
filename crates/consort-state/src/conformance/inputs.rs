//! Rejection of bad input, and the JSON helpers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{list_all, who};
use crate::backend::{Batch, Expect, StateBackend};
use crate::error::StateError;
use crate::json::JsonStateExt;

/// Bad keys, oversize values and zero TTLs are rejected with typed errors,
/// store nothing and leave previous values intact.
pub async fn bad_input(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let caps = b.capabilities();
    let v = b
        .set("bad:k", Bytes::from_static(b"good"), None)
        .await
        .unwrap();
    let long = "k".repeat(caps.max_key_bytes + 1);
    for key in ["", long.as_str(), "bad:\n", "bad:\u{7f}"] {
        let e = b.set(key, Bytes::from_static(b"x"), None).await;
        assert!(
            matches!(e, Err(StateError::InvalidKey { .. })),
            "{w}: set {key:?}: {e:?}"
        );
        let e = b.get(key).await;
        assert!(
            matches!(e, Err(StateError::InvalidKey { .. })),
            "{w}: get {key:?}: {e:?}"
        );
        let e = b.increment(key, 1).await;
        assert!(
            matches!(e, Err(StateError::InvalidKey { .. })),
            "{w}: increment {key:?}: {e:?}"
        );
        let e = b.acquire_lease(key, "h", Duration::from_secs(1)).await;
        assert!(
            matches!(e, Err(StateError::InvalidKey { .. })),
            "{w}: lease {key:?}: {e:?}"
        );
        let e = b.publish(key, Bytes::new()).await;
        assert!(
            matches!(e, Err(StateError::InvalidKey { .. })),
            "{w}: publish {key:?}: {e:?}"
        );
        let e = b.subscribe(key).await;
        assert!(
            matches!(e, Err(StateError::InvalidKey { .. })),
            "{w}: subscribe {key:?}"
        );
    }
    let e = b.get_many(&["bad:k".into(), String::new()]).await;
    assert!(
        matches!(e, Err(StateError::InvalidKey { .. })),
        "{w}: get_many with an empty key"
    );

    let huge = Bytes::from(vec![0u8; caps.max_value_bytes + 1]);
    match b.set("bad:k", huge.clone(), None).await {
        Err(StateError::ValueTooLarge { key, size, limit }) => {
            assert_eq!(
                (key.as_str(), size, limit),
                ("bad:k", caps.max_value_bytes + 1, caps.max_value_bytes),
                "{w}"
            );
        }
        other => panic!("{w}: expected ValueTooLarge, got {other:?}"),
    }
    let e = b
        .compare_and_set("bad:k", Expect::Version(v), huge.clone(), None)
        .await;
    assert!(
        matches!(e, Err(StateError::ValueTooLarge { .. })),
        "{w}: CAS oversize"
    );
    let e = b
        .apply(
            Batch::new()
                .set("bad:new", &b"ok"[..], None)
                .set("bad:k", huge, None),
        )
        .await;
    assert!(
        matches!(e, Err(StateError::ValueTooLarge { .. })),
        "{w}: batch oversize"
    );
    let e = b
        .set("bad:k", Bytes::from_static(b"x"), Some(Duration::ZERO))
        .await;
    assert!(
        matches!(e, Err(StateError::InvalidArgument { .. })),
        "{w}: zero ttl: {e:?}"
    );
    let e = b.list("bad:", None, 0).await;
    assert!(
        matches!(e, Err(StateError::InvalidArgument { .. })),
        "{w}: zero limit: {e:?}"
    );

    let after = b.get("bad:k").await.unwrap().expect("previous value kept");
    assert_eq!(
        (after.value.as_ref(), after.version),
        (&b"good"[..], v),
        "{w}: previous value damaged"
    );
    assert!(
        b.get("bad:new").await.unwrap().is_none(),
        "{w}: rejected batch wrote"
    );
    let keys = list_all(&*b, "bad").await;
    assert_eq!(
        keys,
        vec!["bad:k".to_owned()],
        "{w}: something else was stored"
    );
}

/// Typed JSON round trip; a non-JSON value is a serialization error naming the key.
pub async fn json_helpers(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let v1 = b
        .set_json("json:list", &vec![1u32, 2, 3], None)
        .await
        .unwrap();
    let (list, version) = b.get_json::<Vec<u32>>("json:list").await.unwrap().unwrap();
    assert_eq!((list, version), (vec![1, 2, 3], v1), "{w}");
    let v2 = b
        .compare_and_set_json("json:list", Expect::Version(v1), &vec![4u32], None)
        .await
        .unwrap();
    assert_ne!(v1, v2, "{w}");
    assert!(
        b.get_json::<Vec<u32>>("json:none").await.unwrap().is_none(),
        "{w}"
    );
    b.set("json:bad", Bytes::from_static(b"{not json"), None)
        .await
        .unwrap();
    match b.get_json::<Vec<u32>>("json:bad").await {
        Err(e @ StateError::Serialization { .. }) => {
            assert!(
                e.to_string().contains("json:bad"),
                "{w}: error names the key: {e}"
            );
        }
        other => panic!("{w}: expected Serialization error, got {other:?}"),
    }
    let dynb: &dyn StateBackend = &*b;
    assert!(
        dynb.get_json::<Vec<u32>>("json:list")
            .await
            .unwrap()
            .is_some(),
        "{w}: works on dyn"
    );
}
