-- Move a queued step attempt to Running, exactly once, and return what the worker needs.
-- KEYS: meta nodes attempts outputs events run_timers timers plan
-- ARGV: run_id, node, attempt, now, worker, lost_timeout, timeout (0 = none), token,
--       n_nodes, node keys..., n_outputs, output keys...
-- Returns {0, current_node_json} when the attempt is not the queued one (a duplicate or stale
-- message), else {1, rev, meta_flat, node_values, output_values}. A replay of the same call
-- (same token: the reply was lost and the client retried) returns the snapshot again.
local run_id, node, attempt = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now, worker = tonumber(ARGV[4]), ARGV[5]
local lost_timeout, timeout, token = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]

local raw = redis.call('HGET', KEYS[2], node)
if not raw then return {0, false} end
local state = cjson.decode(raw)
local replay = state.status == 'Running' and tonumber(state.attempt) == attempt and state.start_token == token
if not replay and (state.status ~= 'Queued' or tonumber(state.attempt) ~= attempt) then
  return {0, raw}
end
if not replay then
  state.status = 'Running'
  state.started_at = now
  state.worker = worker
  state.start_token = token
  local encoded = cjson.encode(state)
  redis.call('HSET', KEYS[2], node, encoded)
  redis.call('HSET', KEYS[3], node .. '#' .. attempt, cjson.encode({
    attempt = attempt, status = 'Running', started_at = now, worker = worker,
  }))

  local function timer(kind) return run_id .. '|' .. kind .. '|' .. node .. '|' .. attempt end
  redis.call('ZREM', KEYS[7], timer('queued'))
  redis.call('HDEL', KEYS[6], timer('queued'))
  local lost = timer('lost')
  redis.call('ZADD', KEYS[7], now + lost_timeout, lost)
  redis.call('HSET', KEYS[6], lost, now + lost_timeout)
  if timeout > 0 then
    local t = timer('timeout')
    redis.call('ZADD', KEYS[7], now + timeout, t)
    redis.call('HSET', KEYS[6], t, now + timeout)
  end

  redis.call('XADD', KEYS[5], 'MAXLEN', '~', 100000, '*', 'e', cjson.encode({
    type = 'attempt_started', node = node, attempt = attempt, at = now, worker = worker,
  }))
  redis.call('HINCRBY', KEYS[1], 'rev', 1)
end
local rev = redis.call('HGET', KEYS[1], 'rev')

local pos = 9
local n_nodes = tonumber(ARGV[pos])
local node_keys = {}
for i = 1, n_nodes do node_keys[i] = ARGV[pos + i] end
pos = pos + n_nodes + 1
local n_outputs = tonumber(ARGV[pos])
local output_keys = {}
for i = 1, n_outputs do output_keys[i] = ARGV[pos + i] end

local node_values = {}
if n_nodes > 0 then node_values = redis.call('HMGET', KEYS[2], unpack(node_keys)) end
local output_values = {}
if n_outputs > 0 then output_values = redis.call('HMGET', KEYS[4], unpack(output_keys)) end
return {1, rev, redis.call('HGETALL', KEYS[1]), node_values, output_values}
