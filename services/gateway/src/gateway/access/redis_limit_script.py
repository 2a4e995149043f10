"""The Lua script every ``RedisLimitStore`` run executes: a batch of admits, releases and grant
returns, applied one after another in arrival order (``redis_limits`` describes the keys).

ARGV: 1 key prefix, 2 slot ttl s, 3 slots key ttl ms, 4 rpm key ttl ms, 5 grant seconds,
6 grant share, 7 the operations in order, as one JSON array (one argument, so a batch costs
the client one encode, not one per field):

- admit: ``["a", key id, now, units, request id (rpm entry, slot and grant id), rpm,
  max concurrent, daily quota, monthly quota (each false when the key has no such limit),
  day name or "", day counter ttl s, month name or "", month counter ttl s, extra wanted]``;
- release: ``["r", key id, slot or "", units to refund, day name or "", month name or ""]``
  (a day or month named is refunded into);
- grant return: ``["g", key id, [rpm entries], [slots], units, day name or "", month name
  or ""]``: the unused part of a grant, removed and refunded.

Answers one entry per operation, in order: for an admit the number of extra admissions
granted (0: none) when admitted, else ``{refusal bits, score of the oldest rpm entry or ""}``;
nil for a release or a return. An admit that passes and wants extra takes, for this replica,
``min(wanted, floor(remaining / share))`` over every limit of its key (a quota's remaining
counted in this admit's units; no grant below one): that many rpm entries ``<id>:<i>`` scored
at the grant's expiry (counted at least a minute after any use of them), slots ``<id>:<i>``
and ``extra * units`` on the quotas. A refund skips a counter that already expired (its period
is long over) and never takes one below zero; INCRBY/DECRBY keep the counter's expiry.
"""

from __future__ import annotations

RPM, CONCURRENT, DAILY, MONTHLY = 1, 2, 4, 8
"""The refusal bits of an admit's answer."""

BATCH = """
local prefix = ARGV[1]
local slot_ttl = tonumber(ARGV[2])
local slots_ttl_ms = ARGV[3]
local rpm_ttl_ms = tonumber(ARGV[4])
local grant_seconds = tonumber(ARGV[5])
local share = tonumber(ARGV[6])
local ops = cjson.decode(ARGV[7])
local answers = {}

local function refund(base, units, day, month)
  local counters = {}
  if day ~= '' then counters[#counters + 1] = base .. 'd:' .. day end
  if month ~= '' then counters[#counters + 1] = base .. 'm:' .. month end
  for _, counter in ipairs(counters) do
    if redis.call('EXISTS', counter) == 1 then
      local left = redis.call('DECRBY', counter, units)
      if left < 0 then redis.call('INCRBY', counter, -left) end
    end
  end
end

local function members(score, id, extra)
  local args = {}
  for n = 0, extra - 1 do
    args[#args + 1] = score
    args[#args + 1] = id .. ':' .. n
  end
  return args
end

for i = 1, #ops do
  local op = ops[i]
  local base = prefix .. op[2] .. ':'
  if op[1] == 'a' then
    local now, units, id = op[3], op[4], op[5]
    local rpm, concurrent, daily, monthly = op[6], op[7], op[8], op[9]
    local rpm_key = base .. 'rpm'
    local slots_key = base .. 'slots'
    local day_key = base .. 'd:' .. op[10]
    local month_key = base .. 'm:' .. op[12]
    local refused = 0
    local oldest = ''
    local day_used = 0
    local month_used = 0
    if rpm then
      redis.call('ZREMRANGEBYSCORE', rpm_key, '-inf', now - 60)
      if redis.call('ZCARD', rpm_key) >= rpm then
        refused = refused + 1
        local first = redis.call('ZRANGE', rpm_key, 0, 0, 'WITHSCORES')
        if first[2] then oldest = first[2] end
      end
    end
    if concurrent then
      redis.call('ZREMRANGEBYSCORE', slots_key, '-inf', now)
      if redis.call('ZCARD', slots_key) >= concurrent then refused = refused + 2 end
    end
    if daily then
      day_used = tonumber(redis.call('GET', day_key) or '0') + units
      if day_used > daily then refused = refused + 4 end
    end
    if monthly then
      month_used = tonumber(redis.call('GET', month_key) or '0') + units
      if month_used > monthly then refused = refused + 8 end
    end
    if refused ~= 0 then
      answers[i] = {refused, oldest}
    else
      local extra = op[14]
      if rpm then
        redis.call('ZADD', rpm_key, now, id)
        redis.call('PEXPIRE', rpm_key, rpm_ttl_ms)
        if extra > 0 then
          extra = math.min(extra, math.floor((rpm - redis.call('ZCARD', rpm_key)) / share))
        end
      end
      if concurrent then
        redis.call('ZADD', slots_key, now + slot_ttl, id)
        redis.call('PEXPIRE', slots_key, slots_ttl_ms)
        if extra > 0 then
          extra = math.min(extra, math.floor((concurrent - redis.call('ZCARD', slots_key)) / share))
        end
      end
      if daily and redis.call('INCRBY', day_key, units) == units then
        redis.call('EXPIRE', day_key, op[11])
      end
      if monthly and redis.call('INCRBY', month_key, units) == units then
        redis.call('EXPIRE', month_key, op[13])
      end
      if extra > 0 and units > 0 then
        if daily then extra = math.min(extra, math.floor((daily - day_used) / (units * share))) end
        if monthly then
          extra = math.min(extra, math.floor((monthly - month_used) / (units * share)))
        end
      end
      if extra >= 1 then
        if rpm then
          redis.call('ZADD', rpm_key, unpack(members(now + grant_seconds, id, extra)))
          redis.call('PEXPIRE', rpm_key, rpm_ttl_ms + math.ceil(grant_seconds * 1000))
        end
        if concurrent then
          redis.call('ZADD', slots_key, unpack(members(now + slot_ttl, id, extra)))
        end
        if daily then redis.call('INCRBY', day_key, extra * units) end
        if monthly then redis.call('INCRBY', month_key, extra * units) end
        answers[i] = extra
      else
        answers[i] = 0
      end
    end
  elseif op[1] == 'r' then
    if op[3] ~= '' then redis.call('ZREM', base .. 'slots', op[3]) end
    refund(base, op[4], op[5], op[6])
    answers[i] = false
  else
    if #op[3] > 0 then redis.call('ZREM', base .. 'rpm', unpack(op[3])) end
    if #op[4] > 0 then redis.call('ZREM', base .. 'slots', unpack(op[4])) end
    if op[5] > 0 then refund(base, op[5], op[6], op[7]) end
    answers[i] = false
  end
end
return answers
"""
