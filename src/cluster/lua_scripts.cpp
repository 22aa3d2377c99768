#include "cluster/lua_scripts.h"

namespace pb::cluster {

// Lua 5.1 numbers are doubles: sequences are formatted with %d (exact up to
// 2^53) and never with tostring(), which switches to exponents.

const Script& fenced_append_script() {
  // KEYS: meta, events, lease.
  // ARGV: token, epoch, expected seq, maxlen, channel, has_doc, doc, doc_seq,
  //       doc_changed_ms, fetched_ms, then (type, data) per event.
  // Returns {1, seq} or {0, why}: why is lease, epoch, seq (Redis is
  // ahead of the caller) or behind (Redis lost events the caller recorded).
  static const Script s("fenced_append", R"lua(
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return {0, 'lease'} end
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if m[1] ~= ARGV[2] then return {0, 'epoch'} end
local seq = tonumber(m[2])
if seq == nil then return {0, 'seq'} end
-- Behind the caller, who holds the lease: Redis lost writes (a failover
-- to a replica that lagged, an old snapshot). Ahead: someone appended.
if seq < tonumber(ARGV[3]) then return {0, 'behind'} end
if seq ~= tonumber(ARGV[3]) then return {0, 'seq'} end
for i = 11, #ARGV, 2 do
  seq = seq + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], string.format('%d-0', seq),
             't', ARGV[i], 'd', ARGV[i + 1])
end
local s = string.format('%d', seq)
redis.call('HSET', KEYS[1], 'seq', s, 'doc_seq', ARGV[8], 'doc_changed_ms', ARGV[9],
           'fetched_ms', ARGV[10])
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'doc', ARGV[7]) end
redis.call('PUBLISH', ARGV[5], ARGV[2] .. '-' .. s)
return {1, s}
)lua");
  return s;
}

const Script& lease_script() {
  // KEYS: meta, events, lease, presence.
  // ARGV: owner, lease ms, token held ('' if none), epoch for a new
  //       history, local epoch, local seq, try to acquire (1/0), has
  //       clients (1/0), presence ms, digest of the event held at the
  //       local seq ('' if not held: sha1 hex of type, newline, data).
  // Returns {token held now ('' if none), epoch, seq, other processes with
  // clients, 1 if it started a new epoch because Redis lost writes}.
  //
  // Lost writes: Redis' epoch is the caller's, and it holds fewer events
  // than the caller does, or another event at the caller's last seq. The
  // caller's events came from Redis (its own fenced appends, or read), so
  // Redis went back (a failover to a replica that lagged, an old
  // snapshot): a new epoch, whoever holds the lease, or ids would be
  // reused for other content. A lease holder elsewhere then has its next
  // append refused (epoch), catches up and polls in the new epoch.
  static const Script s("lease", R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[8] == '1' then
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[9]), ARGV[1])
  redis.call('PEXPIRE', KEYS[4], ARGV[9])
else
  redis.call('ZREM', KEYS[4], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local others = redis.call('ZCARD', KEYS[4])
if ARGV[8] == '1' then others = others - 1 end
local function restart()
  local fence = redis.call('HGET', KEYS[1], 'fence') or '0'
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[4], 'seq', '0', 'doc_seq', '0', 'fence', fence)
end
local lost = 0
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local held = tonumber(ARGV[6]) or 0
if m[1] and m[1] == ARGV[5] and held > 0 then
  local seq = tonumber(m[2]) or 0
  if seq < held then
    lost = 1
  elseif ARGV[10] ~= '' then
    local id = string.format('%d-0', held)
    local e = redis.call('XRANGE', KEYS[2], id, id)
    if #e == 1 then
      local t, d = '', ''
      local f = e[1][2]
      for i = 1, #f, 2 do
        if f[i] == 't' then t = f[i + 1] elseif f[i] == 'd' then d = f[i + 1] end
      end
      if redis.sha1hex(t .. '\n' .. d) ~= ARGV[10] then lost = 1 end
    elseif seq == held then
      lost = 1
    end
  end
end
if lost == 1 then restart() end
local cur = redis.call('GET', KEYS[3])
local token = ''
if cur and cur == ARGV[3] then
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  token = cur
elseif (not cur) and ARGV[7] == '1' then
  if not m[1] then restart() end
  local f = redis.call('HINCRBY', KEYS[1], 'fence', 1)
  token = ARGV[1] .. '#' .. string.format('%d', f)
  redis.call('SET', KEYS[3], token, 'PX', ARGV[2])
end
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
return {token, m[1] or '', m[2] or '0', others, lost}
)lua");
  return s;
}

const Script& read_script() {
  // KEYS: meta, events.
  // ARGV: epoch held, seq held, most events, doc_seq held.
  // Returns {} when Redis has no state, else {epoch, seq, doc_seq,
  // doc_changed_ms, fetched_ms, doc or nil (only when newer than the one
  // held), entries after the seq held (all of the newest when another
  // epoch)}.
  static const Script s("read", R"lua(
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'doc_seq', 'doc_changed_ms', 'fetched_ms')
if not m[1] then return {} end
local seq = tonumber(m[2]) or 0
local from = tonumber(ARGV[2])
if m[1] ~= ARGV[1] then from = 0 end
local count = tonumber(ARGV[3])
local first = from + 1
if seq - from > count then first = seq - count + 1 end
local entries = {}
if first <= seq then
  entries = redis.call('XRANGE', KEYS[2], string.format('%d-0', first), '+', 'COUNT', count)
end
local doc = false
if m[1] ~= ARGV[1] or (tonumber(m[3]) or 0) > tonumber(ARGV[4]) then
  doc = redis.call('HGET', KEYS[1], 'doc')
end
return {m[1], m[2] or '0', m[3] or '0', m[4] or '0', m[5] or '0', doc, entries}
)lua");
  return s;
}

const Script& init_script() {
  // KEYS: meta, events. ARGV: epoch. Returns 1 if it started the history.
  static const Script s("init", R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'seq', '0', 'doc_seq', '0')
return 1
)lua");
  return s;
}

const Script& release_script() {
  // KEYS: lease, presence, meta, events. ARGV: token ('' if none), owner,
  // expiry (unix ms, 0: none). Returns 1 if the lease was let go.
  static const Script s("release", R"lua(
redis.call('ZREM', KEYS[2], ARGV[2])
if ARGV[3] ~= '0' then
  redis.call('PEXPIREAT', KEYS[3], ARGV[3])
  redis.call('PEXPIREAT', KEYS[4], ARGV[3])
end
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua");
  return s;
}

const Script& shared_secret_script() {
  // KEYS: the secret. ARGV: a fresh value, set if the key is missing.
  // Returns the value. Always a write (SET of the value found), so that the
  // caller's WAIT covers this value whoever set it first.
  static const Script s("shared_secret", R"lua(
local v = redis.call('GET', KEYS[1])
if not v then v = ARGV[1] end
redis.call('SET', KEYS[1], v)
return v
)lua");
  return s;
}

}  // namespace pb::cluster
