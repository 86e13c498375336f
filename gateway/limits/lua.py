"""The two server-side scripts of the Redis engine, run on the Redis clock (``TIME``).

Each runs atomically in Redis, so every replica's admission sees every other's, and no
client ever reads a counter and writes it back. Layout per rule:

- requests / tokens: a hash of one-second buckets (``<bucket index>`` → count) plus
  ``n`` (their sum) and ``o`` (the oldest bucket that may still hold a count). Trimming
  walks only the buckets that left the window since the last call, so a call costs
  O(1) amortised; the key expires a bucket after its last write.
- concurrency: a sorted set of leases scored by their expiry (ms). A replica that dies
  holding slots loses them when their leases expire; a live one removes its lease.
"""

from __future__ import annotations

# KEYS: one per rule.
# ARGV: buckets, bucket_ms, tokens, lease, lease_ms, then (kind, limit) per rule with
#       kind r (requests), t (tokens) or c (concurrency).
# Returns {admitted 1|0, bucket, reset_ms, refused rule (0-based, -1), retry_ms, used...}.
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nb = tonumber(ARGV[1])
local bms = tonumber(ARGV[2])
local tokens = tonumber(ARGV[3])
local lease = ARGV[4]
local lease_ms = tonumber(ARGV[5])
local cur = math.floor(now / bms)
local first = cur - nb + 1
local reset = (cur + nb) * bms - now

local function trim(key)
  local head = redis.call('HMGET', key, 'n', 'o')
  local n = tonumber(head[1])
  if not n then return 0 end
  local o = tonumber(head[2]) or first
  if o < first then
    if first - o >= nb then
      redis.call('DEL', key)
      return 0
    end
    local stale = {}
    for b = o, first - 1 do stale[#stale + 1] = b end
    local values = redis.call('HMGET', key, unpack(stale))
    for i = 1, #stale do
      if values[i] then n = n - tonumber(values[i]) end
    end
    redis.call('HDEL', key, unpack(stale))
    if n < 0 then n = 0 end
    redis.call('HSET', key, 'n', n, 'o', first)
  end
  return n
end

local function retry(key, need)
  local live = {}
  for b = first, cur do live[#live + 1] = b end
  local values = redis.call('HMGET', key, unpack(live))
  local freed = 0
  for i = 1, #live do
    if values[i] then
      freed = freed + tonumber(values[i])
      if freed >= need then return (live[i] + nb) * bms - now end
    end
  end
  return -2
end

local used = {}
for i = 1, #KEYS do
  local kind = ARGV[4 + 2 * i]
  local limit = tonumber(ARGV[5 + 2 * i])
  local count, amount
  if kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    count = redis.call('ZCARD', KEYS[i])
    amount = 1
  else
    count = trim(KEYS[i])
    amount = 1
    if kind == 't' then amount = tokens end
  end
  used[i] = count
  if count + amount > limit then
    local wait = -1
    if kind ~= 'c' then
      if amount > limit then wait = -2 else wait = retry(KEYS[i], count + amount - limit) end
    end
    return {0, cur, reset, i - 1, wait, unpack(used)}
  end
end

for i = 1, #KEYS do
  local kind = ARGV[4 + 2 * i]
  if kind == 'c' then
    redis.call('ZADD', KEYS[i], now + lease_ms, lease)
    redis.call('PEXPIRE', KEYS[i], lease_ms)
    used[i] = used[i] + 1
  else
    local amount = 1
    if kind == 't' then amount = tokens end
    redis.call('HINCRBY', KEYS[i], cur, amount)
    redis.call('HINCRBY', KEYS[i], 'n', amount)
    redis.call('HSETNX', KEYS[i], 'o', cur)
    redis.call('PEXPIRE', KEYS[i], (nb + 1) * bms)
    used[i] = used[i] + amount
  end
end
return {1, cur, reset, -1, -1, unpack(used)}
"""

# KEYS: the token rules' keys, then the concurrency rules' keys.
# ARGV: buckets, bucket_ms, bucket, delta, lease, number of token keys.
SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nb = tonumber(ARGV[1])
local first = math.floor(now / tonumber(ARGV[2])) - nb + 1
local bucket = ARGV[3]
local delta = tonumber(ARGV[4])
local token_keys = tonumber(ARGV[6])
if delta ~= 0 and tonumber(bucket) >= first then
  for i = 1, token_keys do
    local held = tonumber(redis.call('HGET', KEYS[i], bucket))
    if held then
      local change = delta
      if held + change < 0 then change = -held end
      redis.call('HINCRBY', KEYS[i], bucket, change)
      redis.call('HINCRBY', KEYS[i], 'n', change)
    end
  end
end
for i = token_keys + 1, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[5])
end
return 1
"""
