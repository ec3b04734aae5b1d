//! [`RegistryWatch`]: the stream of registry changes.

use std::pin::Pin;
use std::task::{Context, Poll};

use consort_protocol::{Availability, Event, EventKind, ExpertEvent, ExpertId};
use consort_state::{Delivery, Subscription};
use futures_core::Stream;
use tracing::{instrument, warn};

use crate::error::Result;
use crate::keys;
use crate::registry::ExpertRegistry;

/// A change announced by some registry sharing the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryChange {
    /// `expert:registered`: a new or updated profile.
    Registered {
        /// The expert.
        expert_id: ExpertId,
        /// The `source` of the registry that published it.
        source: String,
    },
    /// `expert:deregistered`.
    Deregistered {
        /// The expert.
        expert_id: ExpertId,
        /// The `source` of the registry that published it.
        source: String,
    },
    /// `expert:expired`: its heartbeat lapsed; it is offline.
    Expired {
        /// The expert.
        expert_id: ExpertId,
        /// The `source` of the registry that published it.
        source: String,
    },
    /// `expert:availability`: declared availability changed, or the expert
    /// came back after a lapse.
    Availability {
        /// The expert.
        expert_id: ExpertId,
        /// The new availability, when the publisher said.
        availability: Option<Availability>,
        /// The `source` of the registry that published it.
        source: String,
    },
    /// Events were missed; take a new [`snapshot`](ExpertRegistry::snapshot)
    /// before applying further changes.
    Lagged {
        /// `Some(n)`: the consumer fell behind and `n` events were dropped.
        /// `None`: the connection to the backend was lost and restored, and
        /// events published meanwhile are gone (how many is unknown).
        missed: Option<u64>,
    },
}

impl RegistryChange {
    /// The expert concerned; `None` for [`RegistryChange::Lagged`].
    pub fn expert_id(&self) -> Option<&str> {
        match self {
            Self::Registered { expert_id, .. }
            | Self::Deregistered { expert_id, .. }
            | Self::Expired { expert_id, .. }
            | Self::Availability { expert_id, .. } => Some(expert_id),
            Self::Lagged { .. } => None,
        }
    }

    fn from_event(event: Event) -> Option<Self> {
        let source = event.source;
        Some(match event.kind {
            EventKind::ExpertRegistered(ExpertEvent { expert_id, .. }) => {
                Self::Registered { expert_id, source }
            }
            EventKind::ExpertDeregistered(ExpertEvent { expert_id, .. }) => {
                Self::Deregistered { expert_id, source }
            }
            EventKind::ExpertExpired(ExpertEvent { expert_id, .. }) => {
                Self::Expired { expert_id, source }
            }
            EventKind::ExpertAvailability(ExpertEvent {
                expert_id,
                availability,
            }) => Self::Availability {
                expert_id,
                availability,
                source,
            },
            _ => return None,
        })
    }
}

/// A stream of [`RegistryChange`]s from every registry on the backend's
/// namespace; dropping it unsubscribes.
///
/// Pub/sub is at-most-once: changes published while nobody listens are not
/// replayed. Start watching, then take a snapshot, then apply changes; on
/// [`RegistryChange::Lagged`] take a new snapshot. The watch outlives backend
/// outages: the backend re-subscribes after a lost connection and the watch
/// reports the gap as `Lagged { missed: None }`.
#[derive(Debug)]
pub struct RegistryWatch {
    subscription: Subscription,
}

impl RegistryWatch {
    /// Waits for the next change; `None` when the backend has shut down.
    pub async fn recv(&mut self) -> Option<RegistryChange> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for RegistryWatch {
    type Item = RegistryChange;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RegistryChange>> {
        loop {
            let delivery = match Pin::new(&mut self.subscription).poll_next(cx) {
                Poll::Ready(Some(delivery)) => delivery,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            };
            match delivery {
                Delivery::Lagged { missed } => {
                    return Poll::Ready(Some(RegistryChange::Lagged { missed }));
                }
                Delivery::Message { topic, payload } => {
                    match serde_json::from_slice::<Event>(&payload) {
                        Ok(event) => {
                            if let Some(change) = RegistryChange::from_event(event) {
                                return Poll::Ready(Some(change));
                            }
                        }
                        // Someone else's message on an `expert:*` topic; not ours to fail on.
                        Err(error) => warn!(%topic, %error, "ignoring unreadable registry event"),
                    }
                }
            }
        }
    }
}

impl ExpertRegistry {
    /// Subscribes to registry changes (`expert:*` topics). Changes published
    /// after this returns are delivered. Subscribing is retried through
    /// transient backend failures within the configured budget.
    #[instrument(skip(self))]
    pub async fn watch(&self) -> Result<RegistryWatch> {
        let subscription = self
            .inner
            .call("watch", None, || {
                self.inner.backend.subscribe(keys::EVENT_PATTERN)
            })
            .await?;
        Ok(RegistryWatch { subscription })
    }
}

#[cfg(test)]
mod tests {
    use consort_protocol::TaskEvent;

    use super::*;

    #[test]
    fn expert_events_map_and_others_are_ignored() {
        let expired = Event::now(
            "hub",
            EventKind::ExpertExpired(ExpertEvent {
                expert_id: "pa".into(),
                availability: Some(Availability::Offline),
            }),
        );
        assert_eq!(
            RegistryChange::from_event(expired),
            Some(RegistryChange::Expired {
                expert_id: "pa".into(),
                source: "hub".into()
            })
        );
        let task = Event::now(
            "hub",
            EventKind::TaskClaimed(TaskEvent {
                task_id: "t".into(),
                agent_id: "a".into(),
            }),
        );
        assert_eq!(RegistryChange::from_event(task), None);
        assert_eq!(RegistryChange::Lagged { missed: Some(3) }.expert_id(), None);
    }
}
