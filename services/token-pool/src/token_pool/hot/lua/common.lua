-- Shared by the scripts (hot/redis_state.py prepends this file to each of them).

-- Overwrite quota windows with upstream figures: a list of {mode, remaining, total|'',
-- window|''}. read(f1, f2, f3) returns those fields of the account, write(f, v, ...) sets
-- fields; both let a caller keep the account in a cache. A window that is full has no reset;
-- a still-running reset time within the window is kept, else the window starts now.
local function apply_figures(read, write, now, figures)
  for _, figure in ipairs(figures) do
    local fm, frem = figure[1], tonumber(figure[2])
    local t, w, prev = read('t:' .. fm, 'w:' .. fm, 'z:' .. fm)
    local ftot = tonumber(figure[3]) or tonumber(t) or 0
    if frem > ftot then ftot = frem end
    local fwin = tonumber(figure[4]) or tonumber(w) or 7200
    prev = tonumber(prev) or 0
    local z
    if frem >= ftot then z = 0
    elseif prev > now and prev <= now + fwin then z = prev
    else z = now + fwin end
    write('r:' .. fm, frem, 't:' .. fm, ftot, 'w:' .. fm, fwin, 'z:' .. fm, z, 's:' .. fm, 'real')
  end
end

-- Give back the egress slot lease `lid` holds (P:lde: lease -> egress), if any.
local function egress_slot_back(p, lid)
  local eg = redis.call('HGET', p .. ':lde', lid)
  if eg then
    if tonumber(redis.call('HINCRBY', p .. ':egi', eg, -1)) < 0 then
      redis.call('HSET', p .. ':egi', eg, 0)
    end
    redis.call('HDEL', p .. ':lde', lid)
  end
end

-- Reclaim up to `limit` leases of prefix p expired by `now`: the in-flight slot comes back,
-- the reserved cost does not. Returns how many were reclaimed.
local function reclaim_expired(p, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', p .. ':leases', '-inf', now, 'LIMIT', 0, limit)
  for _, lid in ipairs(expired) do
    local data = redis.call('HGET', p .. ':ld', lid)
    if data then
      local k = p .. ':a:' .. string.match(data, '^([^|]*)')
      if redis.call('EXISTS', k) == 1 then
        if tonumber(redis.call('HINCRBY', k, 'inf', -1)) < 0 then redis.call('HSET', k, 'inf', 0) end
      end
      redis.call('HDEL', p .. ':ld', lid)
    end
    egress_slot_back(p, lid)
    redis.call('ZREM', p .. ':leases', lid)
  end
  return #expired
end
