//! The follower: a background task that keeps the routing view in line with
//! the registry and the corrections log, from their announcements and a
//! periodic status refresh.

use std::sync::Weak;
use std::time::Duration;

use consort_protocol::Availability;
use consort_registry::{RegistryChange, RegistryWatch};
use consort_state::{Delivery, Subscription};
use futures_util::{FutureExt as _, StreamExt};
use tokio::time::MissedTickBehavior;

use crate::coordinator::Shared;
use crate::corrections;

/// What the follower listens to. Either subscription may be missing after
/// it ended; the next refresh tick subscribes again.
pub(crate) struct Feeds {
    pub(crate) registry: Option<RegistryWatch>,
    pub(crate) corrections: Option<Subscription>,
}

enum Wake {
    Registry(Option<RegistryChange>),
    Correction(Option<Delivery>),
    Tick,
}

/// Runs until the coordinator is dropped (its last clone aborts this task;
/// the weak handle also ends it if the task outlives the coordinator).
pub(crate) async fn follow(shared: Weak<Shared>, mut feeds: Feeds, refresh: Duration) {
    let mut tick = tokio::time::interval(refresh);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick is immediate; the view was just built.
    tick.tick().await;
    loop {
        let wake = tokio::select! {
            change = next(&mut feeds.registry, RegistryWatch::recv) => Wake::Registry(change),
            delivery = next(&mut feeds.corrections, |s| s.next()) => Wake::Correction(delivery),
            _ = tick.tick() => Wake::Tick,
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        handle(&shared, &mut feeds, wake).await;
        // What is already queued shares the rebuild below: a burst of
        // registrations (a server loading its registry file) costs one
        // rebuild, not one per expert.
        while let Some(wake) = queued(&mut feeds) {
            handle(&shared, &mut feeds, wake).await;
        }
        if shared.view.is_stale()
            && let Err(error) = shared.view.ensure_current(&shared.registry).await
        {
            tracing::warn!(%error, "rebuilding the routing view failed; retrying on the next change or refresh");
        }
    }
}

async fn handle(shared: &Shared, feeds: &mut Feeds, wake: Wake) {
    match wake {
        Wake::Registry(Some(change)) => apply(shared, change),
        // A correction, or missed ones: the next build replays the log.
        Wake::Correction(Some(_)) => shared.view.invalidate(),
        Wake::Registry(None) => feeds.registry = None,
        Wake::Correction(None) => feeds.corrections = None,
        Wake::Tick => {
            resubscribe(shared, feeds).await;
            refresh_statuses(shared).await;
        }
    }
}

/// A registry change or correction that has already arrived, if any.
fn queued(feeds: &mut Feeds) -> Option<Wake> {
    if let Some(change) = feeds
        .registry
        .as_mut()
        .and_then(|w| w.next().now_or_never())
    {
        return Some(Wake::Registry(change));
    }
    feeds
        .corrections
        .as_mut()
        .and_then(|s| s.next().now_or_never())
        .map(Wake::Correction)
}

/// The next item of a feed; pending forever while there is none.
async fn next<'a, F, T, Fut>(
    feed: &'a mut Option<F>,
    recv: impl FnOnce(&'a mut F) -> Fut,
) -> Option<T>
where
    Fut: Future<Output = Option<T>>,
{
    match feed {
        Some(feed) => recv(feed).await,
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

/// Subscribes again to whatever feed ended; what happened meanwhile is
/// unknown, so the view is rebuilt.
async fn resubscribe(shared: &Shared, feeds: &mut Feeds) {
    if feeds.registry.is_none() {
        match shared.registry.watch().await {
            Ok(watch) => {
                feeds.registry = Some(watch);
                shared.view.invalidate();
            }
            Err(error) => {
                tracing::warn!(%error, "subscribing to registry changes failed; retrying at the next refresh");
            }
        }
    }
    if feeds.corrections.is_none() {
        match shared.backend.subscribe(corrections::TOPIC).await {
            Ok(subscription) => {
                feeds.corrections = Some(subscription);
                shared.view.invalidate();
            }
            Err(error) => {
                tracing::warn!(%error, "subscribing to routing corrections failed; retrying at the next refresh");
            }
        }
    }
}

async fn refresh_statuses(shared: &Shared) {
    if let Err(error) = shared.view.refresh(&shared.registry).await {
        tracing::warn!(%error, "refreshing expert statuses failed");
    }
}
