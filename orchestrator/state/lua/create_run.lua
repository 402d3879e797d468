-- Create a run once (idempotent by run id): meta, plan, and its entry in the run list.
-- KEYS: meta nodes attempts outputs events run_timers timers plan runs
-- ARGV: run_id, created_at, plan_json, meta_json
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local meta = cjson.decode(ARGV[4])
local args = {}
for field, value in pairs(meta) do
  args[#args + 1] = field
  args[#args + 1] = value
end
redis.call('HSET', KEYS[1], 'rev', 0, unpack(args))
redis.call('SET', KEYS[8], ARGV[3])
redis.call('ZADD', KEYS[9], ARGV[2], ARGV[1])
return 1
