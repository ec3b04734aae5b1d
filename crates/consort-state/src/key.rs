//! Validation of namespaces, keys, topics and lease names, shared by every backend
//! so they all reject the same input with the same error.

use std::time::Duration;

use crate::backend::{Batch, WriteOp};
use crate::error::{Result, StateError};

/// Longest key, topic, pattern or lease name accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Longest namespace accepted, in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 128;

/// Default largest value accepted, in bytes (16 MiB), for both built-in backends.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// Most keys one [`list`](crate::StateBackend::list) page returns; larger limits are capped.
pub const MAX_LIST_LIMIT: usize = 1000;

/// Keeps error messages readable when someone passes a megabyte as a key.
fn shown(key: &str) -> String {
    const SHOW: usize = 80;
    if key.len() <= SHOW {
        return key.to_owned();
    }
    let mut end = SHOW;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &key[..end], key.len())
}

fn invalid(key: &str, reason: impl Into<String>) -> StateError {
    StateError::InvalidKey {
        key: shown(key),
        reason: reason.into(),
    }
}

/// Checks a key, topic, pattern or lease name: non-empty, at most
/// [`MAX_KEY_BYTES`], no control characters.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid(
            key,
            format!("is {} bytes, over the limit of {MAX_KEY_BYTES}", key.len()),
        ));
    }
    // Keys are nearly always printable ASCII: one branch-free pass over the
    // bytes (which the compiler vectorises) settles those, and only a key
    // with a control or non-ASCII byte walks its chars to find the culprit.
    let plain = key
        .bytes()
        .fold(true, |ok, b| ok & (0x20..0x7f).contains(&b));
    if plain {
        return Ok(());
    }
    if let Some(c) = key.chars().find(|c| c.is_control()) {
        return Err(invalid(
            key,
            format!("contains control character {:?}", c as u32),
        ));
    }
    Ok(())
}

/// Checks a namespace: non-empty, at most [`MAX_NAMESPACE_BYTES`], only ASCII
/// letters, digits and `-_.:` (it becomes a Redis key prefix and a channel
/// pattern prefix, so glob characters are refused).
pub fn validate_namespace(ns: &str) -> Result<()> {
    if ns.is_empty() {
        return Err(invalid(ns, "namespace must not be empty"));
    }
    if ns.len() > MAX_NAMESPACE_BYTES {
        return Err(invalid(
            ns,
            format!(
                "namespace is {} bytes, over the limit of {MAX_NAMESPACE_BYTES}",
                ns.len()
            ),
        ));
    }
    if let Some(c) = ns
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(invalid(
            ns,
            format!("namespace may only contain ASCII letters, digits and `-_.:`, found {c:?}"),
        ));
    }
    Ok(())
}

/// Checks a value's size against a backend limit.
pub(crate) fn validate_value(key: &str, size: usize, limit: usize) -> Result<()> {
    if size > limit {
        return Err(StateError::ValueTooLarge {
            key: shown(key),
            size,
            limit,
        });
    }
    Ok(())
}

/// Checks a TTL: zero would mean "already expired", which is never what a caller meant.
pub(crate) fn validate_ttl(key: &str, ttl: Duration) -> Result<()> {
    if ttl.is_zero() {
        return Err(StateError::InvalidArgument {
            what: format!("ttl for `{}`", shown(key)),
            reason: "must be greater than zero".to_owned(),
        });
    }
    Ok(())
}

/// Checks one write: the key, the value's size against `max_value_bytes`, and
/// the TTL. Both backends run it before touching storage, so bad input never
/// stores anything.
pub(crate) fn validate_write(
    key: &str,
    value_len: usize,
    ttl: Option<Duration>,
    max_value_bytes: usize,
) -> Result<()> {
    validate_key(key)?;
    validate_value(key, value_len, max_value_bytes)?;
    if let Some(t) = ttl {
        validate_ttl(key, t)?;
    }
    Ok(())
}

/// Checks every operation of a batch, and its guard, before any is applied.
pub(crate) fn validate_batch(batch: &Batch, max_value_bytes: usize) -> Result<()> {
    for op in &batch.ops {
        match op {
            WriteOp::Set { key, value, ttl }
            | WriteOp::CompareAndSet {
                key, value, ttl, ..
            } => validate_write(key, value.len(), *ttl, max_value_bytes)?,
            WriteOp::Delete { key } => validate_key(key)?,
        }
    }
    if let Some(guard) = &batch.guard {
        validate_key(&guard.name)?;
    }
    Ok(())
}

/// Checks a list page size.
pub(crate) fn validate_limit(prefix: &str, limit: usize) -> Result<usize> {
    if limit == 0 {
        return Err(StateError::InvalidArgument {
            what: format!("limit for listing `{}`", shown(prefix)),
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(limit.min(MAX_LIST_LIMIT))
}

/// Glob match where only `*` is special (matches any run of characters,
/// including `:`). Both built-in backends use exactly this rule.
pub fn glob_match(pattern: &str, topic: &str) -> bool {
    let p = pattern.as_bytes();
    let t = topic.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Classic greedy matcher with one backtrack point: linear for one `*`,
    // never exponential.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("task:*", "task:claimed"));
        assert!(!glob_match("task:*", "file:locked"));
        assert!(glob_match("workflow:run-1:*", "workflow:run-1:step:done"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
        assert!(glob_match("a?", "a?"));
        assert!(!glob_match("a?", "ab"));
    }

    #[test]
    fn keys() {
        assert!(validate_key("").is_err());
        assert!(validate_key("a\nb").is_err());
        assert!(validate_key(&"x".repeat(MAX_KEY_BYTES + 1)).is_err());
        assert!(validate_key("mcp:servers:registry").is_ok());
        assert!(validate_namespace("mcp").is_ok());
        assert!(validate_namespace("a*").is_err());
        assert!(validate_namespace("").is_err());
        // The ASCII fast path must agree with the plain definition for every
        // char near the ASCII/Latin-1 control ranges and a few far beyond.
        let probes = (0u32..0x300).chain([0x2028, 0xfeff, 0x1f600, 0x10ffff]);
        for c in probes.filter_map(char::from_u32) {
            for key in [format!("{c}"), format!("ab{c}cd"), format!("é{c}")] {
                assert_eq!(
                    validate_key(&key).is_err(),
                    key.chars().any(char::is_control),
                    "{:?}",
                    c as u32
                );
            }
        }
        let long = "é".repeat(100);
        let err = validate_key(&format!("{long}\n")).unwrap_err().to_string();
        assert!(err.contains("bytes"), "{err}");
    }
}
