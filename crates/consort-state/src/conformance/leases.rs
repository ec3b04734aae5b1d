//! Lease expiry, renewal, re-acquisition and release.

use std::sync::Arc;
use std::time::Duration;

use super::who;
use crate::backend::StateBackend;
use crate::error::StateError;

/// A renewed lease stays held past its first TTL; an expired one is taken
/// over with a higher token and the old holder's renew/release fail.
pub async fn lease_expiry_and_renewal(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let ttl = Duration::from_millis(300);
    let l1 = b
        .acquire_lease("exp:lease", "old", ttl)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(
        (l1.holder.as_str(), l1.name.as_str()),
        ("old", "exp:lease"),
        "{w}"
    );
    // Renewal keeps it across several TTLs.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let r = b
            .renew_lease(&l1, ttl)
            .await
            .unwrap_or_else(|e| panic!("{w}: renew: {e}"));
        assert_eq!(r.token, l1.token, "{w}: renew keeps the token");
        assert!(
            b.acquire_lease("exp:lease", "new", ttl)
                .await
                .unwrap()
                .is_none(),
            "{w}: stolen while renewed"
        );
    }
    let cur = b.current_lease("exp:lease").await.unwrap().expect("held");
    assert_eq!((cur.holder.as_str(), cur.token), ("old", l1.token), "{w}");
    assert!(cur.ttl <= ttl, "{w}: remaining ttl {:?}", cur.ttl);

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        b.current_lease("exp:lease").await.unwrap().is_none(),
        "{w}: expired lease still shown"
    );
    let l2 = b
        .acquire_lease("exp:lease", "new", Duration::from_secs(10))
        .await
        .unwrap()
        .expect("expired lease is free");
    assert!(
        l2.token > l1.token,
        "{w}: token must grow: {} then {}",
        l1.token,
        l2.token
    );
    match b.renew_lease(&l1, ttl).await {
        Err(StateError::LeaseLost { name, token }) => {
            assert_eq!((name.as_str(), token), ("exp:lease", l1.token), "{w}");
        }
        other => panic!("{w}: old holder's renew must be LeaseLost, got {other:?}"),
    }
    assert!(
        !b.release_lease(&l1).await.unwrap(),
        "{w}: old holder released the new lease"
    );
    let cur = b
        .current_lease("exp:lease")
        .await
        .unwrap()
        .expect("new holder");
    assert_eq!((cur.holder.as_str(), cur.token), ("new", l2.token), "{w}");
}

/// Re-acquiring by the holder renews with the same token; tokens survive release.
pub async fn lease_reacquire_and_release(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let ttl = Duration::from_secs(10);
    let l1 = b
        .acquire_lease("re:lease", "me", ttl)
        .await
        .unwrap()
        .expect("free");
    let again = b
        .acquire_lease("re:lease", "me", ttl)
        .await
        .unwrap()
        .expect("mine");
    assert_eq!(
        again.token, l1.token,
        "{w}: re-acquire by the holder keeps the token"
    );
    assert!(
        b.acquire_lease("re:lease", "you", ttl)
            .await
            .unwrap()
            .is_none(),
        "{w}"
    );
    assert!(b.release_lease(&l1).await.unwrap(), "{w}: release");
    assert!(!b.release_lease(&l1).await.unwrap(), "{w}: double release");
    assert!(b.current_lease("re:lease").await.unwrap().is_none(), "{w}");
    let l2 = b
        .acquire_lease("re:lease", "you", ttl)
        .await
        .unwrap()
        .expect("released lease is free");
    assert!(l2.token > l1.token, "{w}: tokens survive release");
    let mut forged = l2.clone();
    forged.token += 1;
    assert!(
        !b.release_lease(&forged).await.unwrap(),
        "{w}: release with a wrong token"
    );
    assert!(
        matches!(
            b.renew_lease(&forged, ttl).await,
            Err(StateError::LeaseLost { .. })
        ),
        "{w}"
    );
    let l3 = b
        .acquire_lease("re:other", "me", ttl)
        .await
        .unwrap()
        .expect("other name");
    assert!(
        l3.token > 0,
        "{w}: tokens are per name and start above zero"
    );
}
