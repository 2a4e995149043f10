-- Reclaim expired leases (see reclaim_expired in common.lua).
-- ARGV: prefix, now, limit. Returns the number reclaimed.
return reclaim_expired(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
