-- Apply one transition of a run atomically, if nobody else changed the run since it was read.
-- KEYS: meta nodes attempts outputs events run_timers timers plan
-- ARGV[1]: expected revision; ARGV[2]: JSON payload (see orchestrator/state/store.py)
-- Returns {1, new_rev} on success, {0, current_rev} on a conflict.
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then
  return {0, rev}
end
local p = cjson.decode(ARGV[2])

local function hset_pairs(key, map)
  local args = {}
  for field, value in pairs(map) do
    args[#args + 1] = field
    args[#args + 1] = value
    if #args >= 400 then
      redis.call('HSET', key, unpack(args))
      args = {}
    end
  end
  if #args > 0 then
    redis.call('HSET', key, unpack(args))
  end
end

if p.nodes then hset_pairs(KEYS[2], p.nodes) end
if p.attempts then
  -- attempt records are merged: the start fields were written by start_attempt.lua
  for field, value in pairs(p.attempts) do
    local existing = redis.call('HGET', KEYS[3], field)
    if existing then
      local merged = cjson.decode(existing)
      for k, v in pairs(cjson.decode(value)) do merged[k] = v end
      value = cjson.encode(merged)
    end
    redis.call('HSET', KEYS[3], field, value)
  end
end
if p.outputs then hset_pairs(KEYS[4], p.outputs) end

if p.clear_timers then
  local members = redis.call('HKEYS', KEYS[6])
  for _, member in ipairs(members) do
    redis.call('ZREM', KEYS[7], member)
  end
  redis.call('DEL', KEYS[6])
end
if p.timers_del then
  for _, member in ipairs(p.timers_del) do
    redis.call('ZREM', KEYS[7], member)
    redis.call('HDEL', KEYS[6], member)
  end
end
if p.timers_add then
  for _, entry in ipairs(p.timers_add) do
    redis.call('ZADD', KEYS[7], entry[2], entry[1])
    redis.call('HSET', KEYS[6], entry[1], entry[2])
  end
end

if p.events then
  for _, event in ipairs(p.events) do
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', 100000, '*', 'e', event)
  end
end

local new_rev = rev + 1
redis.call('HSET', KEYS[1], 'rev', new_rev)
if p.meta then hset_pairs(KEYS[1], p.meta) end

if p.expire then
  for i = 1, 6 do redis.call('EXPIRE', KEYS[i], p.expire) end
  redis.call('EXPIRE', KEYS[8], p.expire)
end
return {1, new_rev}
