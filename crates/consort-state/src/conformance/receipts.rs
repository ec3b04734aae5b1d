//! Batch receipts: a batch carrying one applies at most once, and the
//! receipt tells afterwards whether it applied.

use std::sync::Arc;
use std::time::Duration;

use super::who;
use crate::backend::{Batch, Expect, StateBackend};
use crate::error::StateError;
use crate::receipt::Receipt;
use crate::retry::{BatchOutcome, RetryBudget, apply_once};

/// A receipt is written atomically with its batch: present exactly when the
/// batch applied, absent when it failed (conflict or lost lease), and a
/// second apply of the same batch is refused without changing anything.
pub async fn batch_receipt(b: Arc<dyn StateBackend>) {
    let w = who(&*b);
    let caps = b.capabilities();

    // Applies once; the result has one more version, the receipt's.
    let first = Receipt::new("rcpt:first");
    assert!(
        !first.applied(&*b).await.unwrap(),
        "{w}: receipt before apply"
    );
    let batch = Batch::new().set("rcpt:a", "1", None).with_receipt(&first);
    let versions = b.apply(batch.clone()).await.unwrap();
    assert_eq!(
        versions.len(),
        2,
        "{w}: one version per op plus the receipt"
    );
    assert!(
        first.applied(&*b).await.unwrap(),
        "{w}: receipt after apply"
    );
    let written = b.get("rcpt:a").await.unwrap().expect("batch wrote");
    assert_eq!(written.version, versions[0].unwrap(), "{w}");

    // The same batch again: refused on the receipt, nothing rewritten.
    match b.apply(batch).await {
        Err(e) => assert!(first.is_conflict(&e), "{w}: second apply: {e}"),
        Ok(v) => panic!("{w}: a batch with a receipt applied twice: {v:?}"),
    }
    let after = b.get("rcpt:a").await.unwrap().expect("still there");
    assert_eq!(after.version, written.version, "{w}: second apply wrote");

    // Another receipt on the same key is not this one.
    assert!(
        !Receipt::new("rcpt:first").applied(&*b).await.unwrap(),
        "{w}: a different id on the same key counted as applied"
    );

    // A batch that fails leaves no receipt.
    let failed = Receipt::new("rcpt:failed");
    let e = b
        .apply(
            Batch::new()
                .set("rcpt:b", "2", None)
                .compare_and_set("rcpt:a", Expect::Absent, "x", None)
                .with_receipt(&failed),
        )
        .await;
    assert!(
        matches!(e, Err(StateError::VersionConflict { ref key, .. }) if key == "rcpt:a"),
        "{w}: {e:?}"
    );
    assert!(
        !failed.applied(&*b).await.unwrap(),
        "{w}: failed batch left its receipt"
    );
    assert!(
        b.get("rcpt:b").await.unwrap().is_none(),
        "{w}: failed batch wrote"
    );

    if caps.leases {
        let lease = b
            .acquire_lease("rcpt:lease", "me", Duration::from_secs(30))
            .await
            .unwrap()
            .expect("free lease");
        assert!(b.release_lease(&lease).await.unwrap(), "{w}");
        let orphan = Receipt::new("rcpt:guarded");
        let e = b
            .apply(
                Batch::new()
                    .guarded_by(&lease)
                    .set("rcpt:c", "3", None)
                    .with_receipt(&orphan),
            )
            .await;
        assert!(matches!(e, Err(StateError::LeaseLost { .. })), "{w}: {e:?}");
        assert!(
            !orphan.applied(&*b).await.unwrap(),
            "{w}: guard failed but receipt written"
        );
    }

    // apply_once: applied by this call, versions without the receipt's.
    let once = Receipt::new("rcpt:once").with_ttl(Duration::from_secs(60));
    match apply_once(
        &*b,
        Batch::new().set("rcpt:d", "4", None).delete("rcpt:b"),
        &once,
        &RetryBudget::none(),
    )
    .await
    .unwrap()
    {
        BatchOutcome::Applied(versions) => {
            assert_eq!(versions.len(), 2, "{w}: {versions:?}");
            assert!(versions[0].is_some() && versions[1].is_none(), "{w}");
        }
        BatchOutcome::AlreadyApplied => panic!("{w}: nothing had applied it before"),
    }
    assert!(once.applied(&*b).await.unwrap(), "{w}");
}
