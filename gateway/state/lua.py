"""Server-side scripts for the Redis backend: each runs atomically on the Redis server.

Keys (prefix ``gw:``): ``spend:<scope>`` is a hash of period id -> nano-dollars spent
plus ``held`` (nano-dollars reserved by requests in flight); ``holds:<scope>`` is a
sorted set of ``<hold id>:<amount>`` scored by expiry (ms, Redis clock), so a hold left
by a crashed gateway is released by the next reservation on that scope.
"""

# KEYS: per scope, its spend hash then its holds zset; last, the request's seen marker.
# ARGV: hold member, amount, ttl ms, then per scope: limit, period id.
# Returns {0, 0, 0} when held, else {index of the failing scope, spent, held}.
# Idempotent: a hold already present (a retried call) is not counted twice. A call that
# arrives after the request was settled (it timed out on the client, which went on
# without it, and reached a slow Redis late) holds nothing: it would never be released.
RESERVE = """
local member = ARGV[1]
local amount = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local n = (#KEYS - 1) / 2
if redis.call('ZSCORE', KEYS[2], member) or redis.call('EXISTS', KEYS[#KEYS]) == 1 then
  return {0, 0, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, n do
  local spend, holds = KEYS[2 * i - 1], KEYS[2 * i]
  local expired = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
  if #expired > 0 then
    local freed = 0
    for _, m in ipairs(expired) do
      freed = freed + tonumber(string.match(m, ':(%d+)$'))
    end
    redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
    redis.call('HINCRBY', spend, 'held', -freed)
  end
  local limit = tonumber(ARGV[2 + 2 * i])
  local spent = tonumber(redis.call('HGET', spend, ARGV[3 + 2 * i]) or '0')
  local held = tonumber(redis.call('HGET', spend, 'held') or '0')
  if spent >= limit or spent + held + amount > limit then
    return {i, spent, held}
  end
end
for i = 1, n do
  redis.call('ZADD', KEYS[2 * i], now + ttl, member)
  redis.call('HINCRBY', KEYS[2 * i - 1], 'held', amount)
end
return {0, 0, 0}
"""

# KEYS: seen marker, ledger stream, then per scope: its spend hash and holds zset.
# ARGV: marker ttl ms, record JSON, cost, hold member ('' for none), hold amount,
# number of periods, period ids...
# Writes nothing when the marker exists (the same usage id was written already).
SETTLE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return 0
end
local cost = tonumber(ARGV[3])
local member = ARGV[4]
local amount = tonumber(ARGV[5])
local periods = tonumber(ARGV[6])
for i = 3, #KEYS, 2 do
  local spend, holds = KEYS[i], KEYS[i + 1]
  if member ~= '' and redis.call('ZREM', holds, member) == 1 then
    redis.call('HINCRBY', spend, 'held', -amount)
  end
  if cost > 0 then
    for p = 1, periods do
      redis.call('HINCRBY', spend, ARGV[6 + p], cost)
    end
  end
end
redis.call('XADD', KEYS[2], '*', 'r', ARGV[2])
return 1
"""

# KEYS: teams hash, auth version. ARGV: name, JSON, '1' to create (only if absent) or
# '0' to update (only if present).
PUT_TEAM = """
local exists = redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1
if (ARGV[3] == '1') == exists then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1
"""

# KEYS: teams hash, auth version. ARGV: name.
DELETE_TEAM = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[2])
  return 1
end
return 0
"""

# KEYS: keys hash, digest index, auth version. ARGV: id, digest, JSON.
PUT_KEY = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('INCR', KEYS[3])
return 1
"""
