-- Admits one create in one round trip (docs/PROTOCOL.md §2): rate counters, single use, placement
-- on the least-loaded live relay, and the token's socket slot on that relay's run. Atomic.
-- KEYS[1]  the client address's counter in the current window
-- KEYS[2]  the token's counter in the current window (used when ARGV[3] > 0)
-- KEYS[3]  the single-use marker of the token's jti (used when ARGV[4] > 0)
-- KEYS[4]  the token's slots hash: socketId -> <relayId>/<boot> (used when ARGV[6] > 0)
-- KEYS[5]  the set of relay ids
-- ARGV[1]  window length in ms (counters expire with their window)
-- ARGV[2]  limit per address (0: this call counts nothing)
-- ARGV[3]  limit per token (0: no token counter)
-- ARGV[4]  ms to remember the jti (0: not single use)
-- ARGV[5]  socketId taking the slot
-- ARGV[6]  max slots of the token (0: no slot)
-- ARGV[7]  ms the slots hash may outlive its last use (0: no expiry)
-- ARGV[8]  prefix of relay keys (<prefix><id> holds the relay's JSON while it is alive)
-- ARGV[9]  prefix of run liveness keys (<prefix><id>/<boot>)
-- ARGV[10] a number in [0, 1): picks among equally loaded relays
-- ARGV[11] relay ids to leave out, comma-separated (they refused this create already)
-- ARGV[12] PUBLISH or SPUBLISH to send ARGV[14] to the chosen relay, '' to send nothing
-- ARGV[13] prefix of relays' open channels (<prefix><id>)
-- ARGV[14] the open request, as the relay reads it
-- ARGV[15] prefix of runs' unreported-opens counters (<prefix><boot>: opens sent to that run it
--          has not yet reported as taken; the relay's announce takes them off)
-- Returns {1, relay JSON, relays that received the open request (-1: none sent)} or {0, error code}.
local function count(key, limit)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  return n <= limit
end
if tonumber(ARGV[2]) > 0 and not count(KEYS[1], tonumber(ARGV[2])) then return {0, 'rate_limited'} end
if tonumber(ARGV[3]) > 0 and not count(KEYS[2], tonumber(ARGV[3])) then return {0, 'rate_limited'} end
if tonumber(ARGV[4]) > 0 and not redis.call('SET', KEYS[3], '1', 'PX', ARGV[4], 'NX') then return {0, 'token_reused'} end

local excluded = {}
for id in string.gmatch(ARGV[11], '[^,]+') do excluded[id] = true end
local best, ties, least = nil, {}, nil
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  local json = redis.call('GET', ARGV[8] .. id)
  if not json then
    redis.call('SREM', KEYS[5], id)
  elseif not excluded[id] then
    local r = cjson.decode(json)
    -- its load: what it announced, plus the opens sent to it that it has not reported yet
    local load = r.sockets + math.max(0, tonumber(redis.call('GET', ARGV[15] .. r.boot) or '0'))
    if not r.draining and load < r.maxSockets then
      if least == nil or load < least then
        least, ties = load, {json}
      elseif load == least then
        table.insert(ties, json)
      end
    end
  end
end
if least == nil then return {0, 'no_relay'} end
best = ties[math.floor(tonumber(ARGV[10]) * #ties) + 1]

local max = tonumber(ARGV[6])
if max > 0 then
  local r = cjson.decode(best)
  local n = redis.call('HLEN', KEYS[4])
  if n >= max then
    local all = redis.call('HGETALL', KEYS[4])
    for i = 1, #all, 2 do
      if redis.call('EXISTS', ARGV[9] .. all[i + 1]) == 0 then
        redis.call('HDEL', KEYS[4], all[i])
        n = n - 1
      end
    end
    if n >= max then return {0, 'socket_limit'} end
  end
  redis.call('HSET', KEYS[4], ARGV[5], r.id .. '/' .. r.boot)
  if tonumber(ARGV[7]) > 0 then redis.call('PEXPIRE', KEYS[4], ARGV[7]) end
end

-- The open request leaves with the admission: one round trip from the router for both.
local placed = cjson.decode(best)
local received = -1
if ARGV[12] ~= '' then received = redis.call(ARGV[12], ARGV[13] .. placed.id, ARGV[14]) end
-- The placement counts itself at once: relays publish their load only every heartbeat, and a
-- storm of creates in between would otherwise all land on the relay that looked least loaded.
-- The relay's next announce takes it off again, counted in its own figure by then. An open
-- nobody received is not counted: no relay will ever report it. The counter outlives any
-- RELAY_TTL_MS (at most 5 minutes), and goes with its run.
if received ~= 0 then
  local sent = ARGV[15] .. placed.boot
  redis.call('INCR', sent)
  redis.call('PEXPIRE', sent, 600000)
end
return {1, best, received}
