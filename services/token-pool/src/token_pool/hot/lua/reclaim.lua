-- Reclaim expired leases: the in-flight slot comes back, the reserved cost does not.
-- ARGV: prefix, now, limit. Returns the number reclaimed.
local p = ARGV[1]
local expired = redis.call('ZRANGEBYSCORE', p .. ':leases', '-inf', tonumber(ARGV[2]),
  'LIMIT', 0, tonumber(ARGV[3]))
for _, lid in ipairs(expired) do
  local data = redis.call('HGET', p .. ':ld', lid)
  if data then
    local k = p .. ':a:' .. string.match(data, '^([^|]*)')
    if redis.call('EXISTS', k) == 1 then
      if tonumber(redis.call('HINCRBY', k, 'inf', -1)) < 0 then redis.call('HSET', k, 'inf', 0) end
    end
    redis.call('HDEL', p .. ':ld', lid)
  end
  redis.call('ZREM', p .. ':leases', lid)
end
return #expired
