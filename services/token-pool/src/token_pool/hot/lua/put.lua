-- Add an account or update its tier and status, keeping live counters (hot/base.py).
-- ARGV: prefix, account_id, tier, base_status, reset (0/1), clear refused products (0/1),
--       the account's tags (a JSON list, replacing the old ones in 'tg' and the tag index
--       P:tt:<tier>:<tag>), then (mode, remaining, total, window, reset_at, source) groups
--       filled only if absent.
local p = ARGV[1]
local id = ARGV[2]
local tier = ARGV[3]
local base = ARGV[4]
local reset = ARGV[5] == '1'
local clear_refusals = ARGV[6] == '1'
local k = p .. ':a:' .. id
local tags_json = ARGV[7]
local old = redis.call('HMGET', k, 'tier', 'st', 'tg')
if old[1] and old[1] ~= tier then redis.call('SREM', p .. ':tier:' .. old[1], id) end
if old[1] and old[3] then
  for _, tag in ipairs(cjson.decode(old[3])) do
    redis.call('SREM', p .. ':tt:' .. old[1] .. ':' .. tag, id)
  end
end
local tags = cjson.decode(tags_json)
for _, tag in ipairs(tags) do redis.call('SADD', p .. ':tt:' .. tier .. ':' .. tag, id) end
if #tags > 0 then redis.call('HSET', k, 'tg', tags_json) else redis.call('HDEL', k, 'tg') end
redis.call('SADD', p .. ':tier:' .. tier, id)
redis.call('SADD', p .. ':all', id)
local st = old[2] or 'active'
if base == 'disabled' or base == 'invalid' then st = base
elseif st == 'cooling' then st = 'cooling'
elseif st == 'invalid' and not reset then st = 'invalid'
else st = 'active' end
redis.call('HSET', k, 'tier', tier, 'st', st)
-- accounts that are never leased, so the transient rule can size "half the pool" (batch.lua)
if st == 'invalid' or st == 'disabled' then redis.call('SADD', p .. ':out', id)
else redis.call('SREM', p .. ':out', id) end
if reset then redis.call('HSET', k, 'fl', 0, 'ts', 0) end
if clear_refusals then redis.call('HDEL', k, 'rp') end
local i = 8
while ARGV[i] do
  local m = ARGV[i]
  if redis.call('HEXISTS', k, 't:' .. m) == 0 then
    redis.call('HSET', k, 'r:' .. m, ARGV[i + 1], 't:' .. m, ARGV[i + 2], 'w:' .. m, ARGV[i + 3],
      'z:' .. m, ARGV[i + 4], 's:' .. m, ARGV[i + 5])
  end
  i = i + 6
end
return 1
