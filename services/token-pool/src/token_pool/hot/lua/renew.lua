-- Push a held lease's expiry back (HotState.renew). ARGV: prefix, lease id, new expiry.
-- Returns 1, or 0 when the lease is gone (released or reclaimed).
local leases = ARGV[1] .. ':leases'
if not redis.call('ZSCORE', leases, ARGV[2]) then return 0 end
redis.call('ZADD', leases, ARGV[3], ARGV[2])
return 1
