//! Single-key values (one plain command each, CAS by script) and counters.

use std::time::Duration;

use redis::Value;
use tracing::{Instrument, debug_span};

use super::codec::{Blob, as_bytes, as_int, decode, expect_arg, ttl_ms, version_of};
use super::errors::{is_overflow, map_err, unexpected};
use super::{BACKEND, RedisBackend, scripts};
use crate::backend::{Expect, Version, Versioned};
use crate::error::{Result, StateError};
use crate::key::{validate_key, validate_ttl, validate_write};

impl RedisBackend {
    pub(super) async fn kv_get(&self, key: &str) -> Result<Option<Versioned>> {
        validate_key(key)?;
        let k = self.kv(key);
        let mut conn = self.conn();
        let raw: Option<Vec<u8>> = self
            .run("get", key, redis::cmd("GET").arg(k).query_async(&mut conn))
            .instrument(debug_span!("state.get", backend = BACKEND, key))
            .await?;
        raw.map(|r| decode(key, r)).transpose()
    }

    pub(super) async fn kv_get_many(&self, keys: &[String]) -> Result<Vec<Option<Versioned>>> {
        for k in keys {
            validate_key(k)?;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(self.kv(k));
        }
        let mut conn = self.conn();
        let first = keys.first().map(String::as_str).unwrap_or_default();
        let raws: Vec<Option<Vec<u8>>> = self
            .run("get_many", first, cmd.query_async(&mut conn))
            .instrument(debug_span!(
                "state.get_many",
                backend = BACKEND,
                n = keys.len()
            ))
            .await?;
        if raws.len() != keys.len() {
            return Err(unexpected(
                "get_many",
                first,
                format!("{} values for {} keys", raws.len(), keys.len()),
            ));
        }
        raws.into_iter()
            .zip(keys)
            .map(|(r, k)| r.map(|r| decode(k, r)).transpose())
            .collect()
    }

    pub(super) async fn kv_set(
        &self,
        key: &str,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Version> {
        validate_write(key, value.len(), ttl, self.max_value_bytes())?;
        let version = self.next_version().await?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.kv(key)).arg(Blob { version, value });
        if let Some(t) = ttl {
            cmd.arg("PX").arg(ttl_ms(t));
        }
        let mut conn = self.conn();
        let () = self
            .run("set", key, cmd.exec_async(&mut conn))
            .instrument(debug_span!("state.set", backend = BACKEND, key))
            .await?;
        Ok(version)
    }

    pub(super) async fn kv_delete(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        let mut conn = self.conn();
        let n: i64 = self
            .run(
                "delete",
                key,
                redis::cmd("DEL").arg(self.kv(key)).query_async(&mut conn),
            )
            .instrument(debug_span!("state.delete", backend = BACKEND, key))
            .await?;
        Ok(n > 0)
    }

    pub(super) async fn kv_compare_and_set(
        &self,
        key: &str,
        expect: Expect,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Version> {
        validate_write(key, value.len(), ttl, self.max_value_bytes())?;
        let version = self.next_version().await?;
        let mut inv = scripts::CAS.prepare_invoke();
        inv.key(self.kv(key))
            .arg(expect_arg(expect))
            .arg(Blob { version, value })
            .arg(ttl.map_or(0, ttl_ms));
        let mut conn = self.conn();
        let reply: Vec<Value> = self
            .run("compare_and_set", key, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.compare_and_set", backend = BACKEND, key))
            .await?;
        match reply.first().and_then(as_int) {
            Some(1) => Ok(version),
            Some(0) => Err(StateError::VersionConflict {
                key: key.to_owned(),
                expected: expect,
                actual: reply.get(1).and_then(as_bytes).and_then(version_of),
            }),
            _ => Err(unexpected("compare_and_set", key, format!("{reply:?}"))),
        }
    }

    pub(super) async fn counter_increment(&self, key: &str, delta: i64) -> Result<i64> {
        validate_key(key)?;
        let mut conn = self.conn();
        let reply: redis::RedisResult<i64> = redis::cmd("INCRBY")
            .arg(self.ns_key("ctr", key))
            .arg(delta)
            .query_async(&mut conn)
            .instrument(debug_span!("state.increment", backend = BACKEND, key))
            .await;
        match reply {
            Ok(n) => Ok(n),
            Err(e) if is_overflow(&e) => Err(StateError::InvalidArgument {
                what: format!("increment of counter `{key}` by {delta}"),
                reason: "overflows i64".to_owned(),
            }),
            Err(e) => Err(map_err("increment", key, e, self.config().response_timeout)),
        }
    }

    pub(super) async fn kv_time_to_live(&self, keys: &[String]) -> Result<Vec<Option<Duration>>> {
        for k in keys {
            validate_key(k)?;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("PTTL").arg(self.kv(k));
        }
        let mut conn = self.conn();
        let first = keys.first().map(String::as_str).unwrap_or_default();
        let left: Vec<i64> = self
            .run("time_to_live", first, pipe.query_async(&mut conn))
            .instrument(debug_span!(
                "state.time_to_live",
                backend = BACKEND,
                n = keys.len()
            ))
            .await?;
        if left.len() != keys.len() {
            return Err(unexpected(
                "time_to_live",
                first,
                format!("{} answers for {} keys", left.len(), keys.len()),
            ));
        }
        // PTTL answers -2 for a missing key and -1 for one without expiry.
        Ok(left
            .into_iter()
            .map(|ms| u64::try_from(ms).ok().map(Duration::from_millis))
            .collect())
    }

    pub(super) async fn kv_expire(&self, key: &str, ttl: Duration) -> Result<bool> {
        validate_key(key)?;
        validate_ttl(key, ttl)?;
        let mut conn = self.conn();
        let n: i64 = self
            .run(
                "expire",
                key,
                redis::cmd("PEXPIRE")
                    .arg(self.kv(key))
                    .arg(ttl_ms(ttl))
                    .query_async(&mut conn),
            )
            .instrument(debug_span!("state.expire", backend = BACKEND, key))
            .await?;
        Ok(n == 1)
    }
}
