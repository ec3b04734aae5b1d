//! Leases with fencing tokens, each operation one script.

use std::time::Duration;

use redis::Value;
use tracing::{Instrument, debug_span};

use super::codec::{as_int, ttl_ms};
use super::errors::unexpected;
use super::{BACKEND, RedisBackend, scripts};
use crate::backend::Lease;
use crate::error::{Result, StateError};
use crate::key::{validate_key, validate_ttl};

impl RedisBackend {
    pub(super) async fn lease_acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        validate_key(name)?;
        validate_key(holder)?;
        validate_ttl(name, ttl)?;
        let mut inv = scripts::LEASE_ACQUIRE.prepare_invoke();
        inv.key(self.ns_key("lease", name))
            .key(self.ns_key("fence", name))
            .arg(holder)
            .arg(ttl_ms(ttl));
        let mut conn = self.conn();
        let reply: Vec<Value> = self
            .run("acquire_lease", name, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.acquire_lease", backend = BACKEND, name))
            .await?;
        match (
            reply.first().and_then(as_int),
            reply.get(1).and_then(as_int),
        ) {
            (Some(0), _) => Ok(None),
            (Some(1), Some(token)) => Ok(Some(Lease {
                name: name.to_owned(),
                holder: holder.to_owned(),
                token: u64::try_from(token).unwrap_or_default(),
                ttl,
            })),
            _ => Err(unexpected("acquire_lease", name, format!("{reply:?}"))),
        }
    }

    pub(super) async fn lease_renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        validate_key(&lease.name)?;
        validate_ttl(&lease.name, ttl)?;
        let mut inv = scripts::LEASE_RENEW.prepare_invoke();
        inv.key(self.ns_key("lease", &lease.name))
            .arg(&lease.holder)
            .arg(lease.token)
            .arg(ttl_ms(ttl));
        let mut conn = self.conn();
        let ok: i64 = self
            .run("renew_lease", &lease.name, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.renew_lease", backend = BACKEND, name = %lease.name))
            .await?;
        if ok == 1 {
            Ok(Lease {
                ttl,
                ..lease.clone()
            })
        } else {
            Err(StateError::LeaseLost {
                name: lease.name.clone(),
                token: lease.token,
            })
        }
    }

    pub(super) async fn lease_release(&self, lease: &Lease) -> Result<bool> {
        validate_key(&lease.name)?;
        let mut inv = scripts::LEASE_RELEASE.prepare_invoke();
        inv.key(self.ns_key("lease", &lease.name))
            .arg(&lease.holder)
            .arg(lease.token);
        let mut conn = self.conn();
        let ok: i64 = self
            .run("release_lease", &lease.name, inv.invoke_async(&mut conn))
            .instrument(debug_span!("state.release_lease", backend = BACKEND, name = %lease.name))
            .await?;
        Ok(ok == 1)
    }

    pub(super) async fn lease_current(&self, name: &str) -> Result<Option<Lease>> {
        validate_key(name)?;
        let k = self.ns_key("lease", name);
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(&k)
            .arg("holder")
            .arg("token")
            .cmd("PTTL")
            .arg(&k);
        let mut conn = self.conn();
        let (fields, pttl): (Vec<Option<String>>, i64) = self
            .run("current_lease", name, pipe.query_async(&mut conn))
            .instrument(debug_span!("state.current_lease", backend = BACKEND, name))
            .await?;
        let (Some(Some(holder)), Some(Some(token))) = (fields.first(), fields.get(1)) else {
            return Ok(None);
        };
        if pttl <= 0 {
            return Ok(None);
        }
        Ok(Some(Lease {
            name: name.to_owned(),
            holder: holder.clone(),
            token: token.parse().unwrap_or_default(),
            ttl: Duration::from_millis(u64::try_from(pttl).unwrap_or_default()),
        }))
    }
}
