//! Owning a run while driving it: a lease renewed in the background, a
//! per-engine guard against driving one run twice, and the signals (pause,
//! cancel, lease lost) that reach the driving task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use consort_state::{Lease, StateBackend};
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
    LeaseLost,
}

impl Signal {
    fn rank(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Pause { .. } => 1,
            Self::Cancel => 2,
            Self::LeaseLost => 3,
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
        let ttl = inner.config.lease_ttl;
        let lease = backend
            .acquire_lease(&name, &inner.owner, ttl)
            .await
            .map_err(WorkflowError::state(run_id, "taking the run's lease"))?;
        let Some(lease) = lease else {
            let current = backend
                .current_lease(&name)
                .await
                .map_err(WorkflowError::state(run_id, "reading the run's lease"))?;
            return Err(WorkflowError::RunOwned {
                run_id: run_id.to_owned(),
                holder: current
                    .as_ref()
                    .map_or_else(|| "another engine".to_owned(), |l| l.holder.clone()),
                lease_lapses_in: current.map(|l| l.ttl),
            });
        };
        ownership.renewal = Some(tokio::spawn(renew(
            Arc::clone(backend),
            lease.clone(),
            ttl,
            cancel_key(run_id),
            sender,
        )));
        ownership.lease = Some(lease);
        Ok(ownership)
    }

    /// Gives the run up: stops renewing and releases the lease.
    pub(crate) async fn release(mut self) {
        if let Some(task) = self.renewal.take() {
            task.abort();
        }
        if let Some(lease) = self.lease.take()
            && let Err(e) = self.inner.backend.release_lease(&lease).await
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

/// Renews the lease every third of its TTL and looks for a cancel request
/// left by an engine that does not drive the run.
async fn renew(
    backend: Arc<dyn StateBackend>,
    mut lease: Lease,
    ttl: Duration,
    cancel_key: String,
    sender: Arc<watch::Sender<Signal>>,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        match backend.renew_lease(&lease, ttl).await {
            Ok(renewed) => lease = renewed,
            Err(consort_state::StateError::LeaseLost { .. }) => {
                raise(&sender, Signal::LeaseLost);
                return;
            }
            // Transient: the next tick tries again; if the lease lapses
            // meanwhile, fenced writes stop the driver.
            Err(e) => {
                tracing::warn!(lease = %lease.name, error = %e, "renewing the run's lease failed");
            }
        }
        if let Ok(Some(_)) = backend.get(&cancel_key).await {
            raise(&sender, Signal::Cancel);
        }
    }
}
