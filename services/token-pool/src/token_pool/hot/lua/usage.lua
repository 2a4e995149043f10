-- Overwrite quota windows with an upstream usage answer; forget the refused products.
-- ARGV: prefix, account_id, now, then (mode, remaining, total|'', window|'') groups.
local p = ARGV[1]
local k = p .. ':a:' .. ARGV[2]
local now = tonumber(ARGV[3])
if redis.call('EXISTS', k) == 0 then return 0 end
local function read(...) return unpack(redis.call('HMGET', k, ...)) end
local function write(...) redis.call('HSET', k, ...) end
local figures = {}
for i = 4, #ARGV, 4 do figures[#figures + 1] = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]} end
apply_figures(read, write, now, figures)
redis.call('HSET', k, 'rf', now)
redis.call('HDEL', k, 'rp')
return 1
