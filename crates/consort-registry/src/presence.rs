//! [`ExpertRegistry::alive`]: which experts' heartbeats are current, in one
//! backend call, for callers that must never hand work to a lapsed expert;
//! and [`ExpertRegistry::heartbeat_ages`]: how long ago each one beat.

use std::time::Duration;

use consort_protocol::ExpertId;
use tracing::instrument;

use crate::error::{Result, StateContext};
use crate::keys;
use crate::registry::ExpertRegistry;

impl ExpertRegistry {
    /// Whether each of `ids` has a current heartbeat (in the same order).
    /// An unregistered expert has none.
    ///
    /// One backend call (`get_many` of the heartbeat keys), without reading
    /// profiles or load: cheap enough to check the experts a routing
    /// decision names before handing them work.
    #[instrument(skip_all, fields(experts = ids.len()))]
    pub async fn alive(&self, ids: &[ExpertId]) -> Result<Vec<bool>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let heartbeat_keys: Vec<String> = ids.iter().map(|id| keys::heartbeat(id)).collect();
        let found = self
            .inner
            .backend
            .get_many(&heartbeat_keys)
            .await
            .during("alive", None)?;
        Ok(found.iter().map(Option::is_some).collect())
    }

    /// How long ago each of `ids` last sent a heartbeat (in the same
    /// order): the heartbeat TTL less what is left of it. `None` when its
    /// heartbeat has lapsed or the expert is not registered. One backend
    /// call.
    #[instrument(skip_all, fields(experts = ids.len()))]
    pub async fn heartbeat_ages(&self, ids: &[ExpertId]) -> Result<Vec<Option<Duration>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let heartbeat_keys: Vec<String> = ids.iter().map(|id| keys::heartbeat(id)).collect();
        let left = self
            .inner
            .backend
            .time_to_live(&heartbeat_keys)
            .await
            .during("heartbeat_ages", None)?;
        let ttl = self.inner.config.heartbeat_ttl;
        Ok(left
            .into_iter()
            .map(|left| left.map(|left| ttl.saturating_sub(left)))
            .collect())
    }
}
