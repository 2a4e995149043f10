-- Select an eligible account and reserve the cost, atomically (semantics: hot/base.py).
-- ARGV: prefix, mode, cost, now, expires_at, lease_id, max_inflight, policy, rand (0..1),
--       penalty, ntiers, then per tier (tier, default_total, default_window), then the sample
--       size, then excluded ids. A tier larger than the sample is first searched in a random
--       sample of that size (bounded cost); the full tier only when the sample has no pick.
-- Returns {'ok', account_id, tier} | {'exhausted', n_cooling, n_no_quota, n_busy, retry_at}
--       | {'not_ready'}
local p = ARGV[1]
local mode = ARGV[2]
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local expires = tonumber(ARGV[5])
local lease_id = ARGV[6]
local cap = tonumber(ARGV[7])
local policy = ARGV[8]
local rnd = tonumber(ARGV[9])
local penalty = tonumber(ARGV[10])
local ntiers = tonumber(ARGV[11])
local sample = tonumber(ARGV[12 + ntiers * 3])

if redis.call('EXISTS', p .. ':ready') == 0 then return {'not_ready'} end

reclaim_expired(p, now, 100)

local excluded = {}
for i = 13 + ntiers * 3, #ARGV do excluded[ARGV[i]] = true end

local rk, tk, wk, zk, sk = 'r:' .. mode, 't:' .. mode, 'w:' .. mode, 'z:' .. mode, 's:' .. mode
local n_cooling, n_no_quota, n_busy = 0, 0, 0
local retry_at = 0
local function earliest(at)
  if at > 0 and (retry_at == 0 or at < retry_at) then retry_at = at end
end

local function pick(tier, ids, dtot)
  local best, nbest, bestscore = {}, 0, 0
  local tally = {0, 0, 0, 0}
  for _, id in ipairs(ids) do
    if not excluded[id] then
      local v = redis.call('HMGET', p .. ':a:' .. id, 'st', 'cu', 'inf', rk, tk, zk, 'lu')
      local st = v[1]
      local cu = tonumber(v[2]) or 0
      if st == 'cooling' and cu <= now then st = 'active' end
      if st == 'active' or st == 'cooling' then
        local inf = tonumber(v[3]) or 0
        local total = tonumber(v[5]) or dtot
        local rem = tonumber(v[4]) or total
        local z = tonumber(v[6]) or 0
        if z > 0 and z <= now then rem = total end
        if st == 'cooling' then
          tally[1] = tally[1] + 1
          if cu > 0 and (tally[4] == 0 or cu < tally[4]) then tally[4] = cu end
        elseif rem < cost then
          tally[2] = tally[2] + 1
          if z > 0 and (tally[4] == 0 or z < tally[4]) then tally[4] = z end
        elseif inf >= cap then
          tally[3] = tally[3] + 1
        else
          local score
          if policy == 'random' then score = 0
          elseif policy == 'round_robin' then score = -(tonumber(v[7]) or 0)
          else score = rem - penalty * inf end
          if nbest == 0 or score > bestscore then
            best = {id}; nbest = 1; bestscore = score
          elseif score == bestscore then
            nbest = nbest + 1; best[nbest] = id
          end
        end
      end
    end
  end
  return best, nbest, tally
end

for ti = 0, ntiers - 1 do
  local tier = ARGV[12 + ti * 3]
  local dtot = tonumber(ARGV[13 + ti * 3])
  local dwin = tonumber(ARGV[14 + ti * 3])
  local members = p .. ':tier:' .. tier
  local best, nbest, tally
  if redis.call('SCARD', members) > sample then
    best, nbest, tally = pick(tier, redis.call('SRANDMEMBER', members, sample), dtot)
  end
  if not nbest or nbest == 0 then
    best, nbest, tally = pick(tier, redis.call('SMEMBERS', members), dtot)
  end
  n_cooling = n_cooling + tally[1]
  n_no_quota = n_no_quota + tally[2]
  n_busy = n_busy + tally[3]
  earliest(tally[4])
  if nbest > 0 then
    local idx = math.floor(rnd * nbest) + 1
    if idx > nbest then idx = nbest end
    local id = best[idx]
    local k = p .. ':a:' .. id
    local v = redis.call('HMGET', k, rk, tk, wk, zk, sk)
    local total = tonumber(v[2]) or dtot
    local win = tonumber(v[3]) or dwin
    local rem = tonumber(v[1]) or total
    local z = tonumber(v[4]) or 0
    local src = v[5] or 'default'
    if z > 0 and z <= now then rem = total; z = 0 end
    if z == 0 then z = now + win end
    if src == 'real' then src = 'estimated' end
    redis.call('HSET', k, rk, rem - cost, tk, total, wk, win, zk, z, sk, src, 'lu', now,
      'st', 'active')
    redis.call('HINCRBY', k, 'inf', 1)
    redis.call('HSET', p .. ':ld', lease_id, id .. '|' .. mode .. '|' .. cost)
    redis.call('ZADD', p .. ':leases', expires, lease_id)
    return {'ok', id, tier}
  end
end
return {'exhausted', n_cooling, n_no_quota, n_busy, tostring(retry_at)}
