//! The follower: a background task that keeps the routing view in line with
//! the registry, from registry events and a periodic status refresh.

use std::sync::Weak;
use std::time::Duration;

use consort_protocol::Availability;
use consort_registry::{RegistryChange, RegistryWatch};
use tokio::time::MissedTickBehavior;

use crate::coordinator::Shared;

/// Waits between attempts to subscribe again after the watch ended.
const RESUBSCRIBE_PAUSE: Duration = Duration::from_millis(500);

/// Runs until the coordinator is dropped (its last clone aborts this task;
/// the weak handle also ends it if the task outlives the coordinator).
pub(crate) async fn follow(shared: Weak<Shared>, watch: RegistryWatch, refresh: Duration) {
    let mut watch = Some(watch);
    let mut tick = tokio::time::interval(refresh);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick is immediate; the view was just built.
    tick.tick().await;
    loop {
        let change = tokio::select! {
            change = next_change(&mut watch) => Some(change),
            _ = tick.tick() => None,
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match change {
            Some(Some(change)) => apply(&shared, change),
            Some(None) => resubscribe(&shared, &mut watch).await,
            None => {
                if watch.is_none() {
                    resubscribe(&shared, &mut watch).await;
                }
                refresh_statuses(&shared).await;
            }
        }
        if shared.view.is_stale()
            && let Err(error) = shared.view.ensure_current(&shared.registry).await
        {
            tracing::warn!(%error, "rebuilding the routing view failed; retrying on the next change or refresh");
        }
    }
}

/// The next registry change; pending forever while there is no watch.
async fn next_change(watch: &mut Option<RegistryWatch>) -> Option<RegistryChange> {
    match watch {
        Some(watch) => watch.recv().await,
        None => std::future::pending().await,
    }
}

fn apply(shared: &Shared, change: RegistryChange) {
    match change {
        RegistryChange::Expired { expert_id, .. } => {
            shared
                .view
                .set_status(&expert_id, Availability::Offline, None);
        }
        RegistryChange::Availability {
            expert_id,
            availability: Some(availability),
            ..
        } => shared.view.set_status(&expert_id, availability, None),
        // A new or changed profile, a removal, an availability the event did
        // not carry, or missed events: the next use rebuilds from a snapshot.
        _ => shared.view.invalidate(),
    }
}

async fn resubscribe(shared: &Shared, watch: &mut Option<RegistryWatch>) {
    *watch = None;
    tokio::time::sleep(RESUBSCRIBE_PAUSE).await;
    match shared.registry.watch().await {
        Ok(fresh) => {
            *watch = Some(fresh);
            // Whatever happened while unsubscribed is unknown.
            shared.view.invalidate();
        }
        Err(error) => {
            tracing::warn!(%error, "subscribing to registry changes failed; retrying at the next refresh");
        }
    }
}

async fn refresh_statuses(shared: &Shared) {
    if let Err(error) = shared.view.refresh(&shared.registry).await {
        tracing::warn!(%error, "refreshing expert statuses failed");
    }
}
