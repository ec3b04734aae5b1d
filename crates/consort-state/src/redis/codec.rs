//! How values, versions, keys and TTLs are laid out in Redis commands and
//! replies: written straight into the command buffer, read without copies.

use std::time::Duration;

use bytes::{Buf, Bytes};
use redis::{RedisWrite, ToRedisArgs, Value};

use crate::backend::{Expect, Version, Versioned};
use crate::error::{Result, StateError};

/// Redis has millisecond expiry: sub-millisecond TTLs round up rather than
/// to zero (which Redis rejects), and absurd ones are capped.
pub(super) fn ttl_ms(ttl: Duration) -> u64 {
    let ms = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).clamp(1, 1 << 52)
}

/// The stored form of a value: version then payload, written straight into
/// the command buffer without an intermediate copy.
pub(super) struct Blob<'a> {
    pub(super) version: Version,
    pub(super) value: &'a [u8],
}

impl ToRedisArgs for Blob<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        use std::io::Write;
        let mut w = out.writer_for_next_arg();
        // Writing to the command's in-memory buffer cannot fail.
        let _ = w.write_all(&self.version.to_be_bytes());
        let _ = w.write_all(self.value);
    }
}

/// `{ns}:kv:{key}` written straight into the command buffer: building a
/// `String` per key first costs an allocation that raw redis-rs does not pay.
pub(super) struct KvKey<'a> {
    pub(super) prefix: &'a str,
    pub(super) key: &'a str,
}

impl ToRedisArgs for KvKey<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        use std::io::Write;
        let mut w = out.writer_for_next_arg();
        let _ = w.write_all(self.prefix.as_bytes());
        let _ = w.write_all(self.key.as_bytes());
    }
}

/// A stored value back into version and payload.
pub(super) fn decode(key: &str, raw: Vec<u8>) -> Result<Versioned> {
    if raw.len() < 8 {
        return Err(StateError::Corrupt {
            key: key.to_owned(),
            detail: format!(
                "{} bytes, shorter than the 8-byte version header",
                raw.len()
            ),
        });
    }
    let mut v = [0u8; 8];
    v.copy_from_slice(&raw[..8]);
    // advance() only moves the start pointer: no copy, no allocation.
    let mut value = Bytes::from(raw);
    value.advance(8);
    Ok(Versioned {
        value,
        version: u64::from_be_bytes(v),
    })
}

/// The version at the head of a stored value, as scripts return it.
pub(super) fn version_of(raw: &[u8]) -> Option<Version> {
    let b: [u8; 8] = raw.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// A precondition as scripts take it: empty for absent, else 8 version bytes.
pub(super) fn expect_arg(e: Expect) -> Vec<u8> {
    match e {
        Expect::Absent => Vec::new(),
        Expect::Version(v) => v.to_be_bytes().to_vec(),
    }
}

pub(super) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn as_bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}
