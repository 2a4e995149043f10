-- Overwrite quota windows with an upstream usage answer.
-- ARGV: prefix, account_id, now, then (mode, remaining, total|'', window|'') groups.
local p = ARGV[1]
local k = p .. ':a:' .. ARGV[2]
local now = tonumber(ARGV[3])
if redis.call('EXISTS', k) == 0 then return 0 end
apply_figures(k, now, 4)
redis.call('HSET', k, 'rf', now)
return 1
