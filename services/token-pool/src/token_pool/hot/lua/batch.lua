-- Apply releases, then acquires, as one atomic step (semantics: hot/base.py, hot/outcomes.py).
-- Accounts are read once per batch into a cache and written back once at the end, and a
-- tier's random sample is drawn once per batch, so a batch of n costs far less than n calls.
-- ARGV: prefix, now, penalty, sample size, then the releases and the acquires as JSON lists
-- (one argument each: packing hundreds of arguments costs the caller more than the script),
-- then the recent-failure window (s) and the demotion of a recently failed account:
--   release: [lease_id, account_id, mode, cost, outcome, now, retry_after|'', fail_threshold,
--             default_window, refund (0/1), blame (0/1), [[mode, remaining, total|'',
--             window|''], ...], transient_threshold, transient_cooldown, max_doublings,
--             failed (0/1)]
--   acquire: [lease_id, mode, cost, now, expires_at, max_inflight, policy, rand (0..1),
--             [[tier, default_total, default_window], ...], [excluded id, ...], product,
--             pinned account id ('' = any), [account tag, ...] (empty = any account)]
-- Returns one entry per item, releases first:
--   release {'ok', status, previous_status, held (1: the lease was held, 0: released
--           already or reclaimed)} | {'gone'}
--   acquire {'ok', account_id, tier, egress id or ''}
--           | {'exhausted', n_cooling, n_no_quota, n_busy, retry_at, n_refused}
--           | {'not_ready'}
-- A lease through an egress is also in P:lde (lease -> egress), its slot counted in P:egi;
-- an account's egress is its field 'eg', the egress caps P:egc (bind.lua, hot/base.py).
-- A lease is recorded in P:ld as 'account|mode|cost', with '|product' for a model that has
-- one (chat leases keep the form older scripts parse). An acquire whose lease id is already
-- in P:ld (the caller sent it again) is answered with that lease, reserving nothing.
-- An account's refused products (hot/base.py: product_refused) are its field 'rp', a
-- comma-separated list; a usage refresh (usage.lua) or an operator edit (put.lua) clears it.
-- An acquire with tags considers only the members of P:tt:<tier>:<tag> (put.lua keeps them),
-- a random window of sample of them first, then all of them (hot/base.py).
local p = ARGV[1]
local batch_now = tonumber(ARGV[2])
local penalty = tonumber(ARGV[3])
local sample = tonumber(ARGV[4])
local releases = cjson.decode(ARGV[5])
local acquires = cjson.decode(ARGV[6])
local recent_failure, demotion = tonumber(ARGV[7]), tonumber(ARGV[8])
local n_releases, n_acquires = #releases, #acquires
local out = {}

-- account id -> its fields (false: absent in Redis, nil: not read yet), with _id and the
-- _dirty fields to write back; or false when the account does not exist.
local cache = {}
local per_mode = {}  -- mode -> the names of its window fields
local function mode_fields(mode)
  local mf = per_mode[mode]
  if not mf then
    mf = {'r:' .. mode, 't:' .. mode, 'w:' .. mode, 'z:' .. mode, 's:' .. mode}
    per_mode[mode] = mf
  end
  return mf
end
-- The fields a pick reads come in the first read of an account; the rest (failures, window
-- length, source) only when a release or a reservation needs them.
local function account(id, mf)
  local a = cache[id]
  if a == false then return nil end
  if a then
    if a[mf[1]] == nil then
      local v = redis.call('HMGET', p .. ':a:' .. id, mf[1], mf[2], mf[4])
      a[mf[1]], a[mf[2]], a[mf[4]] = v[1], v[2], v[3]
    end
    return a
  end
  local v = redis.call('HMGET', p .. ':a:' .. id, 'st', 'cu', 'inf', 'lu', 'lf', 'rp',
    mf[1], mf[2], mf[4], 'eg')
  if not v[1] then cache[id] = false; return nil end  -- 'st' is set on every account
  a = {_id = id, st = v[1], cu = v[2], inf = v[3], lu = v[4], lf = v[5] or false,
       rp = v[6] or '', eg = v[10] or ''}
  a[mf[1]], a[mf[2]], a[mf[4]] = v[7], v[8], v[9]
  cache[id] = a
  return a
end
-- Read fields not in the cache yet, in one call.
local function fetch(a, ...)
  local missing = {}
  for _, f in ipairs({...}) do
    if a[f] == nil then missing[#missing + 1] = f end
  end
  if #missing > 0 then
    local v = redis.call('HMGET', p .. ':a:' .. a._id, unpack(missing))
    for i, f in ipairs(missing) do a[f] = v[i] end
  end
end
local function get(a, f)
  local value = a[f]
  if value == nil then
    value = redis.call('HGET', p .. ':a:' .. a._id, f)
    a[f] = value
  end
  return value
end
local function set(a, f, value)
  a[f] = value
  local dirty = a._dirty
  if not dirty then dirty = {}; a._dirty = dirty end
  dirty[f] = value
end
-- Whether the account was refused `product` (its 'rp' list names it).
local function refused(a, product)
  local rp = a.rp
  return rp ~= '' and string.find(',' .. rp .. ',', ',' .. product .. ',', 1, true) ~= nil
end
local function accessors(a)
  local function read(...)
    local values = {}
    for i, f in ipairs({...}) do values[i] = get(a, f) end
    return unpack(values)
  end
  local function write(...)
    local args = {...}
    for i = 1, #args, 2 do set(a, args[i], args[i + 1]) end
  end
  return read, write
end

-- Reclaim first: it writes account hashes directly, before any of them is cached.
local ready = n_acquires > 0 and redis.call('EXISTS', p .. ':ready') == 1
if ready then reclaim_expired(p, batch_now, 100) end

if n_releases > 0 then
  -- The transient run (hot/base.py): accounts that failed transiently since the last
  -- success anywhere, and the size at which it is the upstream's outage; read on first need.
  local run_key = p .. ':trs'
  local run_len, outage_at
  local function run_length()
    if run_len == nil then run_len = redis.call('SCARD', run_key) end
    return run_len
  end
  local function outage_size()
    if outage_at == nil then
      local usable = redis.call('SCARD', p .. ':all') - redis.call('SCARD', p .. ':out')
      outage_at = math.max(2, math.ceil(usable / 2))
    end
    return outage_at
  end
  -- The upstream, not these accounts, was failing: lift the cooldowns the run gave them.
  local function forgive_run(now, mf)
    for _, id in ipairs(redis.call('SMEMBERS', run_key)) do
      local b = account(id, mf)
      if b then
        fetch(b, 'tu')
        local tu = tonumber(get(b, 'tu')) or 0
        if tu > now then
          if get(b, 'st') == 'cooling' and (tonumber(get(b, 'cu')) or 0) <= tu then
            set(b, 'st', 'active'); set(b, 'cu', 0)
          end
          set(b, 'tu', 0)
        end
        set(b, 'ts', 0)
      end
    end
  end
  local ids = {}
  for r, release in ipairs(releases) do ids[r] = release[1] end
  local known_data = redis.call('HMGET', p .. ':ld', unpack(ids))
  local done = {}
  for r, release in ipairs(releases) do
    local lease_id, account_id, mode, cost = release[1], release[2], release[3], release[4]
    local outcome, now, retry_after = release[5], release[6], tonumber(release[7])
    local threshold, dwin = release[8], release[9]
    local refund, blame = release[10] == 1, release[11] == 1
    local data = known_data[r]
    local known = data and not done[lease_id]
    local product = ''
    if known then
      done[lease_id] = true
      local a_, m_, c_, p_ = string.match(data, '^([^|]*)|([^|]*)|([^|]*)|?([^|]*)$')
      account_id, mode, cost, product = a_, m_, tonumber(c_), p_ or ''
    end
    local a = account(account_id, mode_fields(mode))
    if not a then
      out[#out + 1] = {'gone'}
    else
      local rk, zk = 'r:' .. mode, 'z:' .. mode
      fetch(a, 'fl', 'ts', 'w:' .. mode)
      local previous = get(a, 'st')
      local st = previous
      local fl = tonumber(get(a, 'fl')) or 0
      local ts = tonumber(get(a, 'ts')) or 0
      local ts_read = ts
      local cu = tonumber(get(a, 'cu')) or 0
      local forgive = false
      if known then
        egress_slot_back(p, lease_id)
        local inf = (tonumber(get(a, 'inf')) or 0) - 1
        if inf < 0 then inf = 0 end
        set(a, 'inf', inf)
        local rem = tonumber(get(a, rk))
        if refund and rem then
          rem = rem + cost
          local total = tonumber(get(a, 't:' .. mode)) or rem
          if rem > total then rem = total end
          set(a, rk, rem)
        end
        if outcome == 'success' then
          fl, ts = 0, 0
          if (tonumber(get(a, 'lf')) or 0) > 0 then set(a, 'lf', 0) end
          if run_length() > 0 then redis.call('DEL', run_key); run_len = 0 end
        elseif outcome == 'transient' and run_length() < outage_size() then
          if redis.call('SADD', run_key, account_id) == 1 then run_len = run_len + 1 end
          ts = ts + 1
          if ts >= release[13] and (st == 'active' or st == 'cooling') then
            local doublings = math.min(ts - release[13], release[15])
            local until_at = now + release[14] * 2 ^ doublings
            st = 'cooling'
            set(a, 'tu', until_at)
            if until_at > cu then cu = until_at end
          end
          forgive = run_len >= outage_size()
        end
        if ts ~= ts_read then set(a, 'ts', ts) end
        if outcome == 'product_refused' and product ~= '' and not refused(a, product) then
          if a.rp == '' then set(a, 'rp', product) else set(a, 'rp', a.rp .. ',' .. product) end
        end
        if blame then
          fl = fl + 1
          if fl >= threshold and st ~= 'disabled' then
            st = 'invalid'
            redis.call('SADD', p .. ':out', account_id)
          end
        end
      end
      if outcome == 'rate_limited' then
        local z = tonumber(get(a, zk)) or 0
        local until_at
        if retry_after and retry_after > 0 then until_at = now + retry_after
        elseif z > now then until_at = z
        else until_at = now + (tonumber(get(a, 'w:' .. mode)) or dwin) end
        if get(a, rk) then set(a, rk, 0); set(a, zk, until_at) end
        if st == 'active' or st == 'cooling' then
          st = 'cooling'
          if until_at > cu then cu = until_at end
        end
      end
      if release[16] == 1 then set(a, 'lf', now) end
      set(a, 'st', st); set(a, 'fl', fl); set(a, 'cu', cu)
      local read, write = accessors(a)
      apply_figures(read, write, now, release[12])
      if forgive then forgive_run(now, mode_fields(mode)) end
      out[#out + 1] = {'ok', get(a, 'st'), previous, known and 1 or 0}
    end
  end
  local finished = {}
  for lease_id in pairs(done) do finished[#finished + 1] = lease_id end
  if #finished > 0 then
    redis.call('HDEL', p .. ':ld', unpack(finished))
    redis.call('ZREM', p .. ':leases', unpack(finished))
  end
end

local new_leases, new_expiries = {}, {}
if n_acquires > 0 then
  local sampled, members = {}, {}  -- per tier: this batch's random sample / whole tier
  local function whole(tier)
    if not members[tier] then members[tier] = redis.call('SMEMBERS', p .. ':tier:' .. tier) end
    return members[tier]
  end
  local tagged_sets = {}  -- per tier and tag list: the tier's accounts carrying one of them
  local function tagged(tier, tags)
    local key = tier .. '\0' .. table.concat(tags, '\0')
    local ids = tagged_sets[key]
    if not ids then
      local keys = {}
      for i, tag in ipairs(tags) do keys[i] = p .. ':tt:' .. tier .. ':' .. tag end
      ids = redis.call('SUNION', unpack(keys))
      tagged_sets[key] = ids
    end
    return ids
  end
  local function carries(tier, tags, id)
    for _, tag in ipairs(tags) do
      if redis.call('SISMEMBER', p .. ':tt:' .. tier .. ':' .. tag, id) == 1 then return true end
    end
    return false
  end
  local function sample_of(tier)
    if sampled[tier] == nil then
      if redis.call('SCARD', p .. ':tier:' .. tier) > sample then
        sampled[tier] = redis.call('SRANDMEMBER', p .. ':tier:' .. tier, sample)
      else
        sampled[tier] = false
      end
    end
    return sampled[tier]
  end

  -- Egress caps and slots in use (hot/base.py), read once per batch and kept up to date.
  local egress_cap, egress_inf = {}, {}
  local function egress_full(eg)
    if eg == '' then return false end
    if eg == '-' then return true end
    if egress_cap[eg] == nil then
      egress_cap[eg] = tonumber(redis.call('HGET', p .. ':egc', eg)) or 0
    end
    if egress_cap[eg] <= 0 then return false end
    if egress_inf[eg] == nil then
      egress_inf[eg] = tonumber(redis.call('HGET', p .. ':egi', eg)) or 0
    end
    return egress_inf[eg] >= egress_cap[eg]
  end

  -- The best-scoring eligible accounts of ids for one acquire (ties all kept), and a tally
  -- of why the others were not eligible: {cooling, no quota, busy, earliest retry, refused}.
  local function pick(ids, q, dtot)
    local rk, tk, zk = q.mf[1], q.mf[2], q.mf[4]
    local now, cost, cap, excluded, product = q.now, q.cost, q.cap, q.excluded, q.product
    local best, nbest, bestscore = {}, 0, 0
    local tally = {0, 0, 0, 0, 0}
    for _, id in ipairs(ids) do
      local a = not excluded[id] and account(id, q.mf)
      if a then
        local st = a.st
        local cu = tonumber(a.cu) or 0
        if st == 'cooling' and cu <= now then st = 'active' end
        if (st == 'active' or st == 'cooling') and product ~= '' and refused(a, product) then
          tally[5] = tally[5] + 1
        elseif st == 'active' or st == 'cooling' then
          local inf = tonumber(a.inf) or 0
          local total = tonumber(a[tk]) or dtot
          local rem = tonumber(a[rk]) or total
          local z = tonumber(a[zk]) or 0
          if z > 0 and z <= now then rem = total end
          if st == 'cooling' then
            tally[1] = tally[1] + 1
            if cu > 0 and (tally[4] == 0 or cu < tally[4]) then tally[4] = cu end
          elseif rem < cost then
            tally[2] = tally[2] + 1
            if z > 0 and (tally[4] == 0 or z < tally[4]) then tally[4] = z end
          elseif inf >= cap or egress_full(a.eg) then
            tally[3] = tally[3] + 1
          else
            local score
            if q.policy == 'random' then score = 0
            elseif q.policy == 'round_robin' then score = -(tonumber(a.lu) or 0)
            else score = rem - penalty * inf end
            local lf = tonumber(a.lf)
            if lf and lf > 0 and now - lf < recent_failure then score = score - demotion end
            if nbest == 0 or score > bestscore then
              best = {a}; nbest = 1; bestscore = score
            elseif score == bestscore then
              nbest = nbest + 1; best[nbest] = a
            end
          end
        end
      end
    end
    return best, nbest, tally
  end

  for _, acquire in ipairs(acquires) do
    local lease_id, mode, cost = acquire[1], acquire[2], acquire[3]
    local now, expires, cap = acquire[4], acquire[5], acquire[6]
    local policy, rnd, tiers = acquire[7], acquire[8], acquire[9]
    local excluded = {}
    for _, id in ipairs(acquire[10]) do excluded[id] = true end
    local product = acquire[11] or ''
    local pinned = acquire[12] or ''
    local tags = acquire[13] or {}
    local mf = mode_fields(mode)
    local rk, tk, wk, zk, sk = mf[1], mf[2], mf[3], mf[4], mf[5]
    local q = {mf = mf, now = now, cost = cost, cap = cap, excluded = excluded, policy = policy,
               product = product}

    local result
    if not ready then result = {'not_ready'} end
    local held = ready and redis.call('HGET', p .. ':ld', lease_id)
    if held then
      -- sent again after its stream broke: answer with the grant it already has
      local account_id = string.match(held, '^[^|]*')
      local tier = redis.call('HGET', p .. ':a:' .. account_id, 'tier')
      if tier then
        result = {'ok', account_id, tier, redis.call('HGET', p .. ':lde', lease_id) or ''}
      end
    end
    local n_cooling, n_no_quota, n_busy, retry_at, n_refused = 0, 0, 0, 0, 0
    for _, candidate in ipairs(tiers) do
      if result then break end
      local tier, dtot, dwin = candidate[1], candidate[2], candidate[3]
      local best, nbest, tally
      if pinned ~= '' then
        -- a pinned acquire considers its one account, in the tier it belongs to
        -- (and, with tags, only when it carries one of them)
        local ids = {}
        if redis.call('SISMEMBER', p .. ':tier:' .. tier, pinned) == 1
            and (#tags == 0 or carries(tier, tags, pinned)) then
          ids = {pinned}
        end
        best, nbest, tally = pick(ids, q, dtot)
      elseif #tags > 0 then
        local ids = tagged(tier, tags)
        local n = #ids
        if n > sample then
          local start, some = math.floor(rnd * n), {}
          for i = 0, sample - 1 do some[i + 1] = ids[((start + i) % n) + 1] end
          best, nbest, tally = pick(some, q, dtot)
        end
        if not nbest or nbest == 0 then best, nbest, tally = pick(ids, q, dtot) end
      else
        local some = sample_of(tier)
        if some then best, nbest, tally = pick(some, q, dtot) end
        if not nbest or nbest == 0 then best, nbest, tally = pick(whole(tier), q, dtot) end
      end
      n_cooling = n_cooling + tally[1]
      n_no_quota = n_no_quota + tally[2]
      n_busy = n_busy + tally[3]
      n_refused = n_refused + tally[5]
      if tally[4] > 0 and (retry_at == 0 or tally[4] < retry_at) then retry_at = tally[4] end
      if nbest > 0 then
        local idx = math.floor(rnd * nbest) + 1
        if idx > nbest then idx = nbest end
        local a = best[idx]
        fetch(a, wk, sk)
        local total = tonumber(a[tk]) or dtot
        local win = tonumber(a[wk]) or dwin
        local rem = tonumber(a[rk]) or total
        local z = tonumber(a[zk]) or 0
        local src = a[sk] or 'default'
        if z > 0 and z <= now then rem = total; z = 0 end
        if z == 0 then z = now + win end
        if src == 'real' then src = 'estimated' end
        set(a, rk, rem - cost); set(a, tk, total); set(a, wk, win); set(a, zk, z)
        set(a, sk, src); set(a, 'lu', now); set(a, 'st', 'active')
        set(a, 'inf', (tonumber(a.inf) or 0) + 1)
        new_leases[#new_leases + 1] = lease_id
        local data = a._id .. '|' .. mode .. '|' .. cost
        if product ~= '' then data = data .. '|' .. product end
        new_leases[#new_leases + 1] = data
        new_expiries[#new_expiries + 1] = expires
        new_expiries[#new_expiries + 1] = lease_id
        if a.eg ~= '' then
          egress_inf[a.eg] = tonumber(redis.call('HINCRBY', p .. ':egi', a.eg, 1))
          redis.call('HSET', p .. ':lde', lease_id, a.eg)
        end
        result = {'ok', a._id, tier, a.eg}
      end
    end
    out[#out + 1] = result
      or {'exhausted', n_cooling, n_no_quota, n_busy, tostring(retry_at), n_refused}
  end
end

for id, a in pairs(cache) do
  if a and a._dirty then
    local args = {}
    for f, value in pairs(a._dirty) do args[#args + 1] = f; args[#args + 1] = value end
    redis.call('HSET', p .. ':a:' .. id, unpack(args))
  end
end
if #new_leases > 0 then
  redis.call('HSET', p .. ':ld', unpack(new_leases))
  redis.call('ZADD', p .. ':leases', unpack(new_expiries))
end
return out
