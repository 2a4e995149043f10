-- Overwrite quota windows with an upstream usage answer.
-- ARGV: prefix, account_id, now, then (mode, remaining, total|'', window|'') groups.
local p = ARGV[1]
local k = p .. ':a:' .. ARGV[2]
local now = tonumber(ARGV[3])
if redis.call('EXISTS', k) == 0 then return 0 end
local i = 4
while ARGV[i] do
  local fm, frem = ARGV[i], tonumber(ARGV[i + 1])
  local fw = redis.call('HMGET', k, 't:' .. fm, 'w:' .. fm, 'z:' .. fm)
  local ftot = tonumber(ARGV[i + 2]) or tonumber(fw[1]) or 0
  if frem > ftot then ftot = frem end
  local fwin = tonumber(ARGV[i + 3]) or tonumber(fw[2]) or 7200
  local prev = tonumber(fw[3]) or 0
  local z
  if frem >= ftot then z = 0
  elseif prev > now and prev <= now + fwin then z = prev
  else z = now + fwin end
  redis.call('HSET', k, 'r:' .. fm, frem, 't:' .. fm, ftot, 'w:' .. fm, fwin, 'z:' .. fm, z,
    's:' .. fm, 'real')
  i = i + 4
end
redis.call('HSET', k, 'rf', now)
return 1
