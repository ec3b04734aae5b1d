//! Letting the records of a finished run expire, when the engine keeps
//! finished runs for a while only ([`EngineConfig::retention`](crate::EngineConfig::retention)).

use std::time::Duration;

use consort_state::retry::retry_transient;

use super::Driver;
use crate::records::{run_key, spec_key, step_keys, turn_key};

/// The most by which the rest of a finished run's records outlive its run
/// record (they outlive it by the retention when that is shorter): a reader
/// that found the run record then finds its steps, though each key expires
/// on its own.
const AFTER_THE_RUN_RECORD: Duration = Duration::from_secs(60);

impl Driver {
    /// Gives the records of this finished run their time to live: the run
    /// record `retention`, the spec, turn and step records up to a minute
    /// more.
    /// Called while the run's lease is still held, so no one else writes
    /// them meanwhile; nothing writes a finished run's records afterwards.
    ///
    /// A backend that stays unreachable through the retry budget leaves the
    /// records in place, with a warning: they are only kept longer.
    pub(super) async fn expire_records(&self, retention: Duration) {
        let run_id = self.run_id();
        let rest = retention.saturating_add(retention.min(AFTER_THE_RUN_RECORD));
        let mut keys = vec![(run_key(run_id), retention)];
        keys.push((spec_key(run_id), rest));
        if self.turn.is_some() {
            keys.push((turn_key(run_id), rest));
        }
        keys.extend(
            step_keys(run_id, self.graph())
                .into_iter()
                .map(|key| (key, rest)),
        );
        let backend = &self.inner.backend;
        let budget = &self.inner.config.backend_retry;
        let expiries = keys.iter().map(|(key, ttl)| async move {
            retry_transient(budget, || backend.expire(key, *ttl))
                .await
                .map_err(|e| (key, e))
        });
        for failed in futures_util::future::join_all(expiries)
            .await
            .into_iter()
            .filter_map(Result::err)
        {
            let (key, error) = failed;
            tracing::warn!(run_id, key = %key, %error, "could not set the finished run's retention; its record is kept");
        }
    }
}
