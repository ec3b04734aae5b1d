//! [`ExpertRegistry`]: registration, heartbeats, availability and snapshots.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use consort_protocol::{
    Availability, Event, EventKind, ExpertEvent, ExpertId, ExpertProfile, validate_expert_id,
};
use consort_state::retry::retry_transient;
use consort_state::{Batch, Cursor, Expect, JsonStateExt, StateBackend, Versioned};
use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;
use tracing::{Instrument, debug_span, instrument, warn};

use crate::config::RegistryConfig;
use crate::error::{RegistryError, Result, StateContext};
use crate::keys;
use crate::liveness::Liveness;

/// Profiles are enumerated this many keys per `list` page.
const LIST_PAGE: usize = 256;

/// Read-modify-write loops give up (with the conflict as the error) after
/// this many lost races; only a pathological writer storm gets there.
pub(crate) const MAX_CAS_ATTEMPTS: usize = 32;

/// State shared by a registry, its slots and its sweeper.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) backend: Arc<dyn StateBackend>,
    pub(crate) config: RegistryConfig,
}

/// The expert registry over a [`StateBackend`]. Cheap to clone; clones share
/// everything.
///
/// Registries in several processes over one shared backend (Redis, same
/// namespace) see the same experts. See the [crate docs](crate) for the
/// storage layout, events and timing guarantees.
///
/// Registering, heartbeating and watching:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use consort_protocol::{Availability, ExpertProfile};
/// use consort_registry::{ExpertRegistry, RegistryChange, RegistryConfig};
/// use consort_state::MemoryBackend;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = ExpertRegistry::new(
///     Arc::new(MemoryBackend::new("docs")?),
///     RegistryConfig::default()
///         .with_heartbeat_ttl(Duration::from_millis(50))
///         .with_sweep_interval(Duration::from_millis(20)),
/// );
/// // Watch first, then read: nothing falls between the two.
/// let mut changes = registry.watch().await?;
/// let _sweeper = registry.spawn_sweeper()?;
///
/// registry.register(&ExpertProfile::new("legal", vec!["contracts".into()])).await?;
/// assert!(matches!(changes.recv().await, Some(RegistryChange::Registered { .. })));
///
/// // An expert that stops heartbeating goes offline, and the sweeper says so.
/// tokio::time::sleep(Duration::from_millis(80)).await;
/// assert_eq!(registry.get("legal").await?.unwrap().availability_status, Availability::Offline);
/// assert!(matches!(changes.recv().await, Some(RegistryChange::Expired { .. })));
///
/// // Its next heartbeat brings it back.
/// registry.heartbeat("legal").await?;
/// assert_eq!(registry.get("legal").await?.unwrap().availability_status, Availability::Available);
/// assert!(matches!(changes.recv().await, Some(RegistryChange::Availability { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ExpertRegistry {
    pub(crate) inner: Arc<Inner>,
}

impl ExpertRegistry {
    /// A registry storing its data in `backend`. A zero `heartbeat_ttl` or
    /// `sweep_interval` is raised to [`MIN_INTERVAL`](crate::MIN_INTERVAL).
    pub fn new(backend: Arc<dyn StateBackend>, config: RegistryConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                config: config.normalised(),
            }),
        }
    }

    /// The configuration in effect.
    pub fn config(&self) -> &RegistryConfig {
        &self.inner.config
    }

    /// The backend the registry stores its data in.
    pub fn backend(&self) -> &Arc<dyn StateBackend> {
        &self.inner.backend
    }

    /// Registers `profile`, or replaces the stored profile of an expert with
    /// the same id, and counts as a heartbeat. Load accounting is kept across
    /// re-registration. Publishes `expert:registered`.
    ///
    /// The profile's `availability_status` becomes the declared availability;
    /// its `current_load` is ignored (slots are the truth). An invalid profile
    /// is rejected with [`RegistryError::InvalidProfile`] and nothing is stored.
    #[instrument(skip_all, fields(expert = %profile.id))]
    pub async fn register(&self, profile: &ExpertProfile) -> Result<()> {
        let id = profile.id.as_str();
        profile
            .validate()
            .map_err(|source| RegistryError::InvalidProfile {
                id: profile.id.clone(),
                source,
            })?;
        let mut stored = profile.clone();
        stored.current_load = 0;
        let ttl = self.inner.config.heartbeat_ttl;
        // One atomic batch: a reader never sees a profile without its
        // heartbeat, and the liveness write (a new version) makes any sweeper
        // that is about to report an older lapse lose its compare-and-set.
        let batch = Batch::new()
            .set(
                keys::profile(id),
                to_json(id, &keys::profile(id), &stored, "register")?,
                None,
            )
            .set(keys::heartbeat(id), self.inner.heartbeat_value(), Some(ttl))
            .set(
                keys::liveness(id),
                to_json(id, &keys::liveness(id), &Liveness::ALIVE, "register")?,
                None,
            );
        // Only unconditional writes: repeating the batch after an unknown
        // outcome is harmless.
        self.inner
            .call("register", Some(id), || {
                self.inner.backend.apply(batch.clone())
            })
            .await?;
        self.inner
            .publish(EventKind::ExpertRegistered(ExpertEvent {
                expert_id: profile.id.clone(),
                availability: Some(profile.availability_status),
            }))
            .await;
        Ok(())
    }

    /// Removes an expert. Publishes `expert:deregistered`.
    ///
    /// Its load counter is left alone so slots still in flight release
    /// cleanly; if the expert registers again it keeps that load.
    #[instrument(skip(self), fields(expert = %id))]
    pub async fn deregister(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let profile = keys::profile(id);
        if self
            .inner
            .call("deregister", Some(id), || self.inner.backend.get(&profile))
            .await?
            .is_none()
        {
            return Err(not_registered(id));
        }
        let batch = Batch::new()
            .delete(keys::profile(id))
            .delete(keys::heartbeat(id))
            .delete(keys::liveness(id));
        self.inner
            .call("deregister", Some(id), || {
                self.inner.backend.apply(batch.clone())
            })
            .await?;
        self.inner
            .publish(EventKind::ExpertDeregistered(ExpertEvent {
                expert_id: id.into(),
                availability: Some(Availability::Offline),
            }))
            .await;
        Ok(())
    }

    /// Renews the expert's heartbeat for another `heartbeat_ttl`.
    ///
    /// One backend round trip while the heartbeat is live. A heartbeat after
    /// a lapse brings the expert back: it is online again at once, and
    /// `expert:availability` is published with its declared availability
    /// (preceded by `expert:expired` if no sweeper had reported the lapse
    /// yet, so every lapse is reported exactly once).
    /// [`RegistryError::NotRegistered`] if the expert is unknown.
    #[instrument(skip(self), fields(expert = %id))]
    pub async fn heartbeat(&self, id: &str) -> Result<()> {
        check_id(id)?;
        let ttl = self.inner.config.heartbeat_ttl;
        let key = keys::heartbeat(id);
        if self
            .inner
            .call("heartbeat", Some(id), || {
                self.inner.backend.expire(&key, ttl)
            })
            .await?
        {
            return Ok(());
        }
        let profile = self
            .stored_profile(id, "heartbeat")
            .await?
            .ok_or_else(|| not_registered(id))?;
        self.inner.revive(id, profile.availability_status).await
    }

    /// Declares the expert's availability (kept across heartbeats, replaced
    /// by the next [`register`](Self::register)). Publishes
    /// `expert:availability` when the declared value changes.
    ///
    /// A lapsed heartbeat still shows the expert as offline whatever it
    /// declares.
    #[instrument(skip(self), fields(expert = %id, availability = availability.as_str()))]
    pub async fn set_availability(&self, id: &str, availability: Availability) -> Result<()> {
        check_id(id)?;
        let key = keys::profile(id);
        let backend = &self.inner.backend;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut profile, version) = self
                .inner
                .call("set_availability", Some(id), || {
                    backend.get_json::<ExpertProfile>(&key)
                })
                .await?
                .ok_or_else(|| not_registered(id))?;
            if profile.availability_status == availability {
                return Ok(());
            }
            profile.availability_status = availability;
            let value = to_json(id, &key, &profile, "set_availability")?;
            // A retry after an unknown outcome finds its own write and loses
            // the compare-and-set; the next round then sees nothing to do.
            let written = retry_transient(&self.inner.config.retry, || {
                backend.compare_and_set(&key, Expect::Version(version), value.clone(), None)
            })
            .await;
            match written {
                Ok(_) => break,
                Err(consort_state::StateError::VersionConflict { .. })
                    if attempt < MAX_CAS_ATTEMPTS => {}
                Err(e) => return Err(e).during("set_availability", Some(id)),
            }
        }
        self.inner
            .publish(EventKind::ExpertAvailability(ExpertEvent {
                expert_id: id.into(),
                availability: Some(availability),
            }))
            .await;
        Ok(())
    }

    /// One expert with its live availability and load, or `None` if it is
    /// not registered.
    #[instrument(skip(self), fields(expert = %id))]
    pub async fn get(&self, id: &str) -> Result<Option<ExpertProfile>> {
        check_id(id)?;
        let ids = [ExpertId::from(id)];
        Ok(self.inner.live_profiles(&ids, "get", Some(id)).await?.pop())
    }

    /// Every registered expert, sorted by id, with live `availability_status`
    /// (offline from the moment its heartbeat lapsed) and `current_load`
    /// (slots in use).
    ///
    /// Not a point-in-time snapshot across experts: each page of profiles is
    /// read together, pages one after another.
    #[instrument(skip(self))]
    pub async fn snapshot(&self) -> Result<Vec<ExpertProfile>> {
        let mut experts = Vec::new();
        let mut cursor = None;
        loop {
            let (ids, next) = self.inner.list_page(cursor.as_ref(), "snapshot").await?;
            experts.extend(self.inner.live_profiles(&ids, "snapshot", None).await?);
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        experts.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(experts)
    }

    /// The same as [`snapshot`](Self::snapshot).
    pub async fn list(&self) -> Result<Vec<ExpertProfile>> {
        self.snapshot().await
    }

    async fn stored_profile(
        &self,
        id: &str,
        operation: &'static str,
    ) -> Result<Option<ExpertProfile>> {
        let key = keys::profile(id);
        let found = self
            .inner
            .call(operation, Some(id), || self.inner.backend.get_json(&key))
            .await?;
        Ok(found.map(|(profile, _)| profile))
    }
}

impl Inner {
    pub(crate) fn heartbeat_value(&self) -> Bytes {
        // Who keeps the expert alive, for whoever inspects the store.
        Bytes::from(self.config.source.clone())
    }

    /// One page of registered expert ids (a bounded `list` of profile keys).
    pub(crate) async fn list_page(
        &self,
        cursor: Option<&Cursor>,
        operation: &'static str,
    ) -> Result<(Vec<ExpertId>, Option<Cursor>)> {
        let page = self
            .call(operation, None, || {
                self.backend.list(keys::PROFILE_PREFIX, cursor, LIST_PAGE)
            })
            .await?;
        let ids = page
            .keys
            .iter()
            .filter_map(|k| k.strip_prefix(keys::PROFILE_PREFIX))
            .map(ExpertId::from)
            .collect();
        Ok((ids, page.next))
    }

    /// Publishes a registry event. Events are notifications (pub/sub is
    /// at-most-once) and the stored state is the truth, so a failed publish
    /// after a successful write is logged rather than failing the write.
    ///
    /// Never retried: a publish whose reply was lost may have been
    /// delivered, and a duplicate event is worse than a missed one (which
    /// watchers recover from with a snapshot).
    pub(crate) async fn publish(&self, kind: EventKind) {
        let topic = kind.event_type();
        if !self.backend.may_have_subscribers(topic) {
            return;
        }
        let event = Event::now(self.config.source.clone(), kind);
        let payload = match serde_json::to_vec(&event) {
            Ok(payload) => payload,
            Err(error) => {
                warn!(
                    topic,
                    error = &error as &dyn std::error::Error,
                    "registry event not encoded"
                );
                return;
            }
        };
        if let Err(error) = self.backend.publish(topic, payload.into()).await {
            warn!(
                topic,
                error = &error as &dyn std::error::Error,
                "registry event not published"
            );
        }
    }

    /// A backend call that is safe to repeat, retried through transient
    /// failures within the configured budget, with the registry's context
    /// on its error.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        id: Option<&str>,
        op: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = consort_state::Result<T>>,
    {
        retry_transient(&self.config.retry, op)
            .await
            .during(operation, id)
    }

    /// Profiles of `ids` that are registered, with live availability and load.
    /// Three backend calls for the page plus one counter read per expert, in
    /// parallel.
    pub(crate) async fn live_profiles(
        &self,
        ids: &[ExpertId],
        operation: &'static str,
        id: Option<&str>,
    ) -> Result<Vec<ExpertProfile>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let profile_keys: Vec<String> = ids.iter().map(|i| keys::profile(i)).collect();
        let heartbeat_keys: Vec<String> = ids.iter().map(|i| keys::heartbeat(i)).collect();
        // Reads only: the whole page is read again after a transient failure.
        let (profiles, heartbeats, loads) = self
            .call(operation, id, || {
                futures_util::future::try_join3(
                    self.backend.get_many(&profile_keys),
                    self.backend.get_many(&heartbeat_keys),
                    try_join_all(ids.iter().map(|i| self.load(i))),
                )
            })
            .instrument(debug_span!("registry.read_page", experts = ids.len()))
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (((key, stored), heartbeat), load) in
            profile_keys.iter().zip(profiles).zip(heartbeats).zip(loads)
        {
            let Some(stored) = stored else { continue };
            let mut profile: ExpertProfile = decode(key, &stored).during(operation, id)?;
            if heartbeat.is_none() {
                profile.availability_status = Availability::Offline;
            }
            profile.current_load = load;
            out.push(profile);
        }
        Ok(out)
    }

    /// Slots in use; reading a counter is adding zero to it.
    async fn load(&self, id: &str) -> consort_state::Result<u32> {
        let raw = self.backend.increment(&keys::load(id), 0).await?;
        // The counter never stays negative (see `slots`), but a value written
        // by another tool must not turn into a huge load.
        Ok(u32::try_from(raw.max(0)).unwrap_or(u32::MAX))
    }
}

pub(crate) fn check_id(id: &str) -> Result<()> {
    validate_expert_id(id).map_err(|source| RegistryError::InvalidId {
        id: id.to_owned(),
        source,
    })
}

pub(crate) fn not_registered(id: &str) -> RegistryError {
    RegistryError::NotRegistered { id: id.into() }
}

pub(crate) fn decode<T: DeserializeOwned>(
    key: &str,
    stored: &Versioned,
) -> consort_state::Result<T> {
    serde_json::from_slice(&stored.value).map_err(|source| {
        consort_state::StateError::Serialization {
            key: key.to_owned(),
            source,
        }
    })
}

pub(crate) fn to_json<T: serde::Serialize>(
    id: &str,
    key: &str,
    value: &T,
    operation: &'static str,
) -> Result<Bytes> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|source| consort_state::StateError::Serialization {
            key: key.to_owned(),
            source,
        })
        .during(operation, Some(id))
}
