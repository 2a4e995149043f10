-- Overwrite quota windows with an upstream usage answer.
-- ARGV: prefix, account_id, now, then (mode, remaining, total|'', window|'') groups.
local p = ARGV[1]
local k = p .. ':a:' .. ARGV[2]
local now = tonumber(ARGV[3])
if redis.call('EXISTS', k) == 0 then return 0 end
local function read(...) return unpack(redis.call('HMGET', k, ...)) end
local function write(...) redis.call('HSET', k, ...) end
apply_figures(read, write, now, 4, (#ARGV - 3) / 4)
redis.call('HSET', k, 'rf', now)
return 1
