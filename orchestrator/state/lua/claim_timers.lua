-- Claim due timers: each claimed entry is pushed `lease` seconds into the future, so that if the
-- claimer dies before handling it, another sweeper claims it again after the lease.
-- KEYS[1]: timers; ARGV: now, lease, limit
-- Returns {members_and_scores..., next_due_score_or_empty}
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], now + lease, due[i])
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {due, nxt[2] or false}
