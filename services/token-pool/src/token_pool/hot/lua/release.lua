-- Apply a lease's outcome (semantics: hot/base.py and hot/outcomes.py).
-- ARGV: prefix, lease_id, account_id, mode, cost, outcome, now, retry_after ('' = none),
--       fail_threshold, default_window, refund (0/1), blame (0/1),
--       then figures as (mode, remaining, total|'', window|'') groups.
-- Returns {'ok', status, previous_status} | {'gone'}
local p = ARGV[1]
local lease_id = ARGV[2]
local account = ARGV[3]
local mode = ARGV[4]
local cost = tonumber(ARGV[5])
local outcome = ARGV[6]
local now = tonumber(ARGV[7])
local retry_after = tonumber(ARGV[8])
local threshold = tonumber(ARGV[9])
local dwin = tonumber(ARGV[10])
local refund = ARGV[11] == '1'
local blame = ARGV[12] == '1'

local known = false
local data = redis.call('HGET', p .. ':ld', lease_id)
if data then
  known = true
  local a, m, c = string.match(data, '^([^|]*)|([^|]*)|([^|]*)$')
  account, mode, cost = a, m, tonumber(c)
  redis.call('HDEL', p .. ':ld', lease_id)
  redis.call('ZREM', p .. ':leases', lease_id)
end
local k = p .. ':a:' .. account
if redis.call('EXISTS', k) == 0 then return {'gone'} end

local rk, tk, wk, zk, sk = 'r:' .. mode, 't:' .. mode, 'w:' .. mode, 'z:' .. mode, 's:' .. mode
local v = redis.call('HMGET', k, 'st', 'fl', 'cu', 'inf', rk, tk, wk, zk)
local previous = v[1]
local st = previous
local fl = tonumber(v[2]) or 0
local cu = tonumber(v[3]) or 0
if known then
  local inf = (tonumber(v[4]) or 0) - 1
  if inf < 0 then inf = 0 end
  redis.call('HSET', k, 'inf', inf)
  if refund and v[5] then
    local rem = tonumber(v[5]) + cost
    local total = tonumber(v[6]) or rem
    if rem > total then rem = total end
    redis.call('HSET', k, rk, rem)
  end
  if outcome == 'success' then fl = 0 end
  if blame then
    fl = fl + 1
    if fl >= threshold and st ~= 'disabled' then st = 'invalid' end
  end
end
if outcome == 'rate_limited' then
  local z = tonumber(v[8]) or 0
  local until_at
  if retry_after and retry_after > 0 then until_at = now + retry_after
  elseif z > now then until_at = z
  else until_at = now + (tonumber(v[7]) or dwin) end
  if v[5] then redis.call('HSET', k, rk, 0, zk, until_at) end
  if st == 'active' or st == 'cooling' then
    st = 'cooling'
    if until_at > cu then cu = until_at end
  end
end
redis.call('HSET', k, 'st', st, 'fl', fl, 'cu', cu)

apply_figures(k, now, 13)
return {'ok', st, previous}
