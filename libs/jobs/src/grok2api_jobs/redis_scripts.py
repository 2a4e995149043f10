"""Lua scripts that make the Redis backend's check-then-write steps atomic."""

from __future__ import annotations

# KEYS: events stream, done marker, record hash.
# ARGV: encoded event, ttl seconds, record status, event time, expires_at, progress ('' =
# unchanged), outcome field ('result' | 'error', '' for a progress event), outcome data (JSON),
# '1' = write only if the record exists, the channel announcing every event, the channel
# announcing terminal events, the job id (the announcement).
# The done marker is the single source of truth for "finished": the first terminal event
# sets it, and every later event (terminal or not) is dropped, so a reclaimed job raced by
# two workers shows its client exactly one terminal event. The record changes with the
# event (records.change_for computes the arguments); a record that expired is not recreated.
# The announcements (see redis_notify) go out in the same step, after the write they announce.
# Returns 1: written, 0: the job had already finished, -1: no record (and ARGV[9] is '1').
PUBLISH_EVENT = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local has_record = redis.call('EXISTS', KEYS[3]) == 1
if ARGV[9] == '1' and not has_record then
  return -1
end
local terminal = ARGV[7] ~= ''
if terminal then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
end
redis.call('XADD', KEYS[1], '*', 'event', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if has_record then
  redis.call('HSET', KEYS[3], 'status', ARGV[3], 'updated_at', ARGV[4], 'expires_at', ARGV[5])
  if ARGV[6] ~= '' then
    redis.call('HSET', KEYS[3], 'progress', ARGV[6])
  end
  if terminal then
    redis.call('HSET', KEYS[3], ARGV[7], ARGV[8], 'finished_at', ARGV[4])
  else
    redis.call('HSETNX', KEYS[3], 'started_at', ARGV[4])
  end
  redis.call('EXPIRE', KEYS[3], ARGV[2])
end
redis.call('PUBLISH', ARGV[10], ARGV[12])
if terminal then
  redis.call('PUBLISH', ARGV[11], ARGV[12])
end
return 1
"""

# KEYS: jobs stream. ARGV: group, consumer, entry ids...
# Resets the idle time only of entries the consumer still owns: a plain XCLAIM would steal
# back a job that another worker has meanwhile reclaimed. JUSTID keeps the delivery count.
HEARTBEAT = """
local owned = {}
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if entry and entry[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    table.insert(owned, ARGV[i])
  end
end
return owned
"""

# KEYS: jobs stream. ARGV: group, min idle ms, consumer name ('' = any).
# Deletes the named consumer, or every consumer idle for at least min idle ms, but only one
# that owns no pending entry: XGROUP DELCONSUMER drops a consumer's pending entries, and
# those jobs must stay for another worker to reclaim. Returns how many were deleted.
FORGET_CONSUMERS = """
local deleted = 0
for _, row in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local consumer = {}
  for i = 1, #row, 2 do consumer[row[i]] = row[i + 1] end
  local chosen
  if ARGV[3] ~= '' then
    chosen = consumer['name'] == ARGV[3]
  else
    chosen = consumer['idle'] >= tonumber(ARGV[2])
  end
  if chosen and consumer['pending'] == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], consumer['name'])
    deleted = deleted + 1
  end
end
return deleted
"""
