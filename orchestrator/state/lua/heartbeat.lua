-- Push the liveness deadline of running steps forward; report the ones that are gone (the step
-- was aborted, expired or declared lost meanwhile), so the worker can stop their work.
-- KEYS[1]: timers; ARGV: new_deadline, members...
local deadline = tonumber(ARGV[1])
local gone = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[i])
  else
    gone[#gone + 1] = ARGV[i]
  end
end
return gone
