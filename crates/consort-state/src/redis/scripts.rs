//! Lua scripts: everything that must read-then-write atomically on the server.
//!
//! Values are stored as `8-byte big-endian version || payload`, so every
//! script compares versions with `string.sub(v, 1, 8)`. Scripts declare every
//! key they touch in `KEYS`, as Redis requires.

use std::sync::LazyLock;

use redis::Script;

/// KEYS[1] value key. ARGV: expect (`''` = absent, else 8 version bytes),
/// blob, ttl ms (`'0'` = none). Returns `{1}` or `{0[, actual 8 bytes]}`.
pub(crate) static CAS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
local ok
if ARGV[1] == '' then ok = (cur == false) else ok = (cur ~= false and string.sub(cur, 1, 8) == ARGV[1]) end
if not ok then
  if cur == false then return {0} end
  return {0, string.sub(cur, 1, 8)}
end
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return {1}
",
    )
});

/// KEYS[1] writer-id counter. ARGV[1] unix ms. Seeding the counter with the
/// clock means ids handed out after the counter was lost (server restart
/// without persistence) are still larger than any id handed out before.
pub(crate) static WRITER_ID: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('INCR', KEYS[1])
",
    )
});

/// KEYS[1] lease hash, KEYS[2] fencing counter. ARGV: holder, ttl ms.
/// Returns `{1, token}` (acquired or renewed by the same holder) or `{0}`.
pub(crate) static LEASE_ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local h = redis.call('HMGET', KEYS[1], 'holder', 'token')
if h[1] then
  if h[1] == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, h[2]}
  end
  return {0}
end
local t = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', t)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, tostring(t)}
",
    )
});

/// KEYS[1] lease hash. ARGV: holder, token, ttl ms. Returns 1 if renewed.
pub(crate) static LEASE_RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local h = redis.call('HMGET', KEYS[1], 'holder', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
",
    )
});

/// KEYS[1] lease hash. ARGV: holder, token. Returns 1 if released.
pub(crate) static LEASE_RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local h = redis.call('HMGET', KEYS[1], 'holder', 'token')
if h[1] == ARGV[1] and h[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

/// Atomic batch. KEYS: `[guard lease hash]`, then one key per op.
/// ARGV[1] `'1'` if guarded, ARGV[2] guard token, then per op 4 args:
/// kind (`S`et, `D`elete, `C`ompare-and-set), expect (`''` absent or 8
/// version bytes; unused unless `C`), blob, ttl ms (`'0'` none).
///
/// First pass checks the guard and every CAS against a simulated state
/// (so later ops see earlier ones); only if all pass does the second pass
/// write. Returns `{'ok'}`, `{'lease'}` or `{'conflict', op index[, actual]}`.
pub(crate) static APPLY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local first = 1
if ARGV[1] == '1' then
  local t = redis.call('HGET', KEYS[1], 'token')
  if (not t) or t ~= ARGV[2] then return {'lease'} end
  first = 2
end
local n = #KEYS - first + 1
local state = {}
for i = 0, n - 1 do
  local key = KEYS[first + i]
  local kind = ARGV[3 + i * 4]
  if kind == 'C' then
    local cur = state[key]
    if cur == nil then
      local v = redis.call('GET', key)
      if v then cur = string.sub(v, 1, 8) else cur = false end
    end
    local exp = ARGV[4 + i * 4]
    local ok
    if exp == '' then ok = (cur == false) else ok = (cur == exp) end
    if not ok then
      if cur == false then return {'conflict', i} end
      return {'conflict', i, cur}
    end
  end
  if kind == 'D' then state[key] = false else state[key] = string.sub(ARGV[5 + i * 4], 1, 8) end
end
for i = 0, n - 1 do
  local key = KEYS[first + i]
  local kind = ARGV[3 + i * 4]
  if kind == 'D' then
    redis.call('DEL', key)
  else
    local ttl = ARGV[6 + i * 4]
    if ttl ~= '0' then
      redis.call('SET', key, ARGV[5 + i * 4], 'PX', ttl)
    else
      redis.call('SET', key, ARGV[5 + i * 4])
    end
  end
end
return {'ok'}
",
    )
});
