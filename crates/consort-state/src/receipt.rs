//! Batch receipts: knowing, after a timeout, whether a batch applied.

use std::time::Duration;

use bytes::Bytes;

use crate::backend::{Batch, Expect, StateBackend};
use crate::error::{Result, StateError};

/// Proof that a [`Batch`] applied, written atomically with it.
///
/// A write whose reply is lost (a timeout or a dropped connection after the
/// request was sent) may or may not have applied. Adding a receipt with
/// [`Batch::with_receipt`] makes the batch write `key = id` with
/// "must be absent" as its last op, so that:
///
/// - the batch can apply at most once: a second apply fails with
///   [`StateError::VersionConflict`] (or another precondition of the batch
///   fails first, since the first apply changed what it guards);
/// - [`applied`](Self::applied) tells afterwards whether it did.
///
/// [`apply_once`](crate::retry::apply_once) does the whole dance. Use one
/// receipt key per batch (e.g. `runs:{id}:receipts:{turn}`); receipts expire
/// after their TTL (24 h by default), which bounds both their storage and
/// the time within which an outcome can be reconciled.
///
/// ```
/// use consort_state::{Batch, MemoryBackend, Receipt, StateBackend};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> consort_state::Result<()> {
/// let state = MemoryBackend::new("docs")?;
/// let receipt = Receipt::new("receipts:turn-1");
/// let batch = Batch::new().set("a", "1", None).with_receipt(&receipt);
/// state.apply(batch.clone()).await?;
/// assert!(receipt.applied(&state).await?);
/// // Applying it again is refused: it cannot apply twice.
/// assert!(state.apply(batch).await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    key: String,
    id: Bytes,
    ttl: Duration,
}

impl Receipt {
    /// How long a receipt is kept unless [`with_ttl`](Self::with_ttl) says otherwise.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

    /// A receipt at `key` with a fresh random id.
    pub fn new(key: impl Into<String>) -> Self {
        let id = format!("{:032x}", fastrand::u128(..));
        Self {
            key: key.into(),
            id: Bytes::from(id),
            ttl: Self::DEFAULT_TTL,
        }
    }

    /// Keeps the receipt for `ttl` after the batch applied.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The key the receipt is written to.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The unique value written to [`key`](Self::key).
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// True if the batch carrying this receipt applied (and its receipt has
    /// not expired yet).
    pub async fn applied<B: StateBackend + ?Sized>(&self, backend: &B) -> Result<bool> {
        Ok(backend
            .get(&self.key)
            .await?
            .is_some_and(|stored| stored.value == self.id))
    }

    /// True if `err` is the conflict on this receipt's key: a batch carrying
    /// it, or another batch using the same key, applied before.
    pub fn is_conflict(&self, err: &StateError) -> bool {
        matches!(err, StateError::VersionConflict { key, .. } if *key == self.key)
    }
}

impl Batch {
    /// Adds `receipt` as the last op: `receipt.key()` must be absent, and
    /// becomes `receipt.id()` when the batch applies. The batch's result
    /// then has one more entry, the receipt's version.
    #[must_use]
    pub fn with_receipt(self, receipt: &Receipt) -> Self {
        self.compare_and_set(
            receipt.key.clone(),
            Expect::Absent,
            receipt.id.clone(),
            Some(receipt.ttl),
        )
    }
}
