-- Release a lock only if this caller still holds it. ARGV: key, token.
if redis.call('GET', ARGV[1]) == ARGV[2] then return redis.call('DEL', ARGV[1]) end
return 0
