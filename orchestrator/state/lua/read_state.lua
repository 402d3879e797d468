-- One consistent read of a run: its meta (with revision) and the given node and output records.
-- KEYS: meta nodes attempts outputs ...
-- ARGV: n_nodes, node keys..., n_outputs, output keys...
local n_nodes = tonumber(ARGV[1])
local node_keys = {}
for i = 1, n_nodes do node_keys[i] = ARGV[1 + i] end
local pos = n_nodes + 2
local n_outputs = tonumber(ARGV[pos])
local output_keys = {}
for i = 1, n_outputs do output_keys[i] = ARGV[pos + i] end
local node_values = {}
if n_nodes > 0 then node_values = redis.call('HMGET', KEYS[2], unpack(node_keys)) end
local output_values = {}
if n_outputs > 0 then output_values = redis.call('HMGET', KEYS[4], unpack(output_keys)) end
return {redis.call('HGETALL', KEYS[1]), node_values, output_values}
