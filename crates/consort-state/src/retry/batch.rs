//! Applying a batch exactly once across transient failures, by its receipt.

use crate::backend::{Batch, StateBackend, Version};
use crate::error::Result;
use crate::receipt::Receipt;

use super::{RetryBudget, retry_transient};

/// What [`apply_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// This call applied the batch: the new version per op, as
    /// [`StateBackend::apply`] returns them (without the receipt's).
    Applied(Vec<Option<Version>>),
    /// An attempt whose reply was lost had applied it; the versions it wrote
    /// are not known (read the keys to learn them).
    AlreadyApplied,
}

/// Applies `batch` with `receipt`, retrying transient failures within
/// `budget`, so that the batch applies exactly once or not at all.
///
/// After an attempt with an unknown outcome (a transient error), a later
/// attempt that fails for good (a conflict, a lost lease) is checked against
/// the receipt: if the earlier attempt applied, the answer is
/// [`BatchOutcome::AlreadyApplied`]. Errors of the first attempt, and
/// transient errors once the budget is spent, are returned as they are; in
/// the latter case the outcome is still unknown and
/// [`Receipt::applied`] settles it later.
pub async fn apply_once<B: StateBackend + ?Sized>(
    backend: &B,
    batch: Batch,
    receipt: &Receipt,
    budget: &RetryBudget,
) -> Result<BatchOutcome> {
    let batch = batch.with_receipt(receipt);
    let mut attempts = 0u32;
    let result = retry_transient(budget, || {
        attempts += 1;
        backend.apply(batch.clone())
    })
    .await;
    match result {
        Ok(mut versions) => {
            versions.pop();
            Ok(BatchOutcome::Applied(versions))
        }
        Err(e) if attempts > 1 && !e.is_transient() => {
            if retry_transient(budget, || receipt.applied(backend)).await? {
                Ok(BatchOutcome::AlreadyApplied)
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}
