//! Owning a run while driving it: a lease renewed in the background, a
//! per-engine guard against driving one run twice, and the signals (pause,
//! cancel, lease lost) that reach the driving task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use consort_state::retry::{RetryBudget, retry_transient};
use consort_state::{Lease, StateBackend, StateError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::engine::Inner;
use crate::error::WorkflowError;
use crate::records::{cancel_key, lease_name};

/// What the driving task must react to; later variants win, and of two
/// pauses the earlier deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    None,
    /// Start nothing new; abandon what is still in flight at `abandon_at`.
    Pause {
        abandon_at: tokio::time::Instant,
    },
    Cancel,
    /// Renewing the lease failed for good; `during_outage` when the backend
    /// was unreachable since the last renewal.
    LeaseLost {
        during_outage: bool,
    },
}

impl Signal {
    fn rank(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Pause { .. } => 1,
            Self::Cancel => 2,
            Self::LeaseLost { .. } => 3,
        }
    }

    /// What `self` becomes when `raised` arrives; `None` if it stays.
    fn merged(self, raised: Self) -> Option<Self> {
        match (self, raised) {
            (Self::Pause { abandon_at: was }, Self::Pause { abandon_at }) => {
                (abandon_at < was).then_some(raised)
            }
            _ => (raised.rank() > self.rank()).then_some(raised),
        }
    }
}

/// Runs driven by one engine right now, with the sender that signals each.
pub(crate) type ActiveRuns = Mutex<HashMap<String, Arc<watch::Sender<Signal>>>>;

pub(crate) fn raise(sender: &watch::Sender<Signal>, signal: Signal) {
    sender.send_if_modified(|current| match current.merged(signal) {
        Some(merged) => {
            *current = merged;
            true
        }
        None => false,
    });
}

/// The right to drive one run. Dropping it (e.g. when the driving future is
/// dropped) stops the renewal and frees the run in this engine; the lease
/// itself then lapses after its TTL, as it would if the process died.
#[derive(Debug)]
pub(crate) struct Ownership {
    inner: Arc<Inner>,
    run_id: String,
    pub(crate) lease: Option<Lease>,
    renewal: Option<JoinHandle<()>>,
    pub(crate) signal: watch::Receiver<Signal>,
}

impl Ownership {
    /// Takes run `run_id` for this engine, or fails with
    /// [`WorkflowError::RunOwned`] naming the holder.
    pub(crate) async fn take(
        inner: &Arc<Inner>,
        run_id: &str,
        durable: bool,
    ) -> Result<Self, WorkflowError> {
        let (sender, signal) = watch::channel(Signal::None);
        let sender = Arc::new(sender);
        {
            let mut active = inner.active.lock().unwrap_or_else(PoisonError::into_inner);
            if active.contains_key(run_id) {
                return Err(WorkflowError::RunOwned {
                    run_id: run_id.to_owned(),
                    holder: inner.owner.clone(),
                    lease_lapses_in: None,
                });
            }
            active.insert(run_id.to_owned(), Arc::clone(&sender));
        }
        // From here on, Drop frees the entry again on every error path.
        let mut ownership = Self {
            inner: Arc::clone(inner),
            run_id: run_id.to_owned(),
            lease: None,
            renewal: None,
            signal,
        };
        if !durable {
            return Ok(ownership);
        }
        let name = lease_name(run_id);
        let backend = &inner.backend;
        let budget = &inner.config.backend_retry;
        let ttl = inner.config.lease_ttl;
        let acquired = retry_transient(budget, || backend.acquire_lease(&name, &inner.owner, ttl))
            .await
            .map_err(WorkflowError::state(run_id, "taking the run's lease"))?;
        let lease = match acquired {
            Some(lease) => lease,
            None => {
                let current = retry_transient(budget, || backend.current_lease(&name))
                    .await
                    .map_err(WorkflowError::state(run_id, "reading the run's lease"))?;
                match current {
                    // An attempt whose reply was lost took it for this engine
                    // (the active runs above say this engine drives no other).
                    Some(lease) if lease.holder == inner.owner => lease,
                    current => {
                        return Err(WorkflowError::RunOwned {
                            run_id: run_id.to_owned(),
                            holder: current
                                .as_ref()
                                .map_or_else(|| "another engine".to_owned(), |l| l.holder.clone()),
                            lease_lapses_in: current.map(|l| l.ttl),
                        });
                    }
                }
            }
        };
        let renewal = Renewal {
            backend: Arc::clone(backend),
            lease: lease.clone(),
            ttl,
            budget: *budget,
            cancel_key: cancel_key(run_id),
            sender,
        };
        ownership.renewal = Some(tokio::spawn(renewal.run()));
        ownership.lease = Some(lease);
        Ok(ownership)
    }

    /// Gives the run up: stops renewing and releases the lease.
    pub(crate) async fn release(mut self) {
        if let Some(task) = self.renewal.take() {
            task.abort();
        }
        let backend = &self.inner.backend;
        let budget = &self.inner.config.backend_retry;
        if let Some(lease) = self.lease.take()
            && let Err(e) = retry_transient(budget, || backend.release_lease(&lease)).await
        {
            tracing::warn!(run_id = %self.run_id, error = %e, "releasing the run's lease failed; it lapses after its TTL");
        }
    }
}

impl Drop for Ownership {
    fn drop(&mut self) {
        if let Some(task) = self.renewal.take() {
            task.abort();
        }
        self.inner
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.run_id);
    }
}

/// Keeps a run's lease: renews it every third of its TTL, through transient
/// errors for as long as the lease lasts, and looks for a cancel request left
/// by an engine that does not drive the run.
struct Renewal {
    backend: Arc<dyn StateBackend>,
    lease: Lease,
    ttl: Duration,
    budget: RetryBudget,
    cancel_key: String,
    sender: Arc<watch::Sender<Signal>>,
}

impl Renewal {
    async fn run(mut self) {
        let mut renewed_at = Instant::now();
        let mut outage = false;
        loop {
            tokio::time::sleep(self.ttl / 3).await;
            // Retrying past the lease's end is pointless: it is gone by then.
            let left = (renewed_at + self.ttl).saturating_duration_since(Instant::now());
            let budget = self
                .budget
                .with_max_elapsed(self.budget.max_elapsed.min(left));
            let (backend, lease, ttl) = (&self.backend, &self.lease, self.ttl);
            let mut attempts = 0u32;
            let result = retry_transient(&budget, || {
                attempts += 1;
                backend.renew_lease(lease, ttl)
            })
            .await;
            outage |= attempts > 1;
            match result {
                Ok(renewed) => {
                    self.lease = renewed;
                    renewed_at = Instant::now();
                    outage = false;
                }
                Err(StateError::LeaseLost { .. }) => {
                    raise(
                        &self.sender,
                        Signal::LeaseLost {
                            during_outage: outage,
                        },
                    );
                    return;
                }
                // Still unreachable: the next tick tries again, and finds the
                // lease lost once the backend answers after it lapsed.
                Err(e) => {
                    outage = true;
                    tracing::warn!(lease = %self.lease.name, error = %e, "renewing the run's lease failed");
                }
            }
            if let Ok(Some(_)) = self.backend.get(&self.cancel_key).await {
                raise(&self.sender, Signal::Cancel);
            }
        }
    }
}
