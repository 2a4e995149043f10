-- Bind an account to an egress (hot/base.py): keep its egress while it is a candidate, else
-- take the preferred one (an account not bound yet) or the least bound candidate.
-- ARGV: prefix, account_id, candidates (JSON list, '' = "no egress"), preferred egress id.
-- Returns the egress id ('-' when no candidate), or false for an unknown account.
local p, id = ARGV[1], ARGV[2]
local candidates, prefer = cjson.decode(ARGV[3]), ARGV[4]
local k = p .. ':a:' .. id
if redis.call('EXISTS', k) == 0 then return false end
local current = redis.call('HGET', k, 'eg') or ''
local allowed = {}
for _, eg in ipairs(candidates) do allowed[eg] = true end
if allowed[current] then return current end
local chosen = '-'
if current == '' and prefer ~= '' and allowed[prefer] then
  chosen = prefer
else
  local fewest
  for _, eg in ipairs(candidates) do
    local n = tonumber(redis.call('HGET', p .. ':egn', eg)) or 0
    if fewest == nil or n < fewest then chosen, fewest = eg, n end
  end
end
if current ~= '' and current ~= '-' then
  if tonumber(redis.call('HINCRBY', p .. ':egn', current, -1)) < 0 then
    redis.call('HSET', p .. ':egn', current, 0)
  end
end
if chosen ~= '' and chosen ~= '-' then redis.call('HINCRBY', p .. ':egn', chosen, 1) end
if chosen == '' then redis.call('HDEL', k, 'eg') else redis.call('HSET', k, 'eg', chosen) end
return chosen
