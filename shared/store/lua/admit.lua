-- Admits one create in one round trip (docs/PROTOCOL.md §2): rate counters, single use, placement
-- on the least-loaded live relay, and the token's socket slot on that relay's run. Atomic.
-- Its arguments are built in one place: admitArgs() in redis-store.ts, in this order.
-- Returns {1, relay JSON, relays that received the open request (-1: none sent)} or {0, error code}.
local ip_counter = KEYS[1]     -- the client address's counter in the current window
local token_counter = KEYS[2]  -- the token's counter in the current window (used when token_limit > 0)
local once_key = KEYS[3]       -- the single-use marker of the token's jti (used when once_ms > 0)
local slots_key = KEYS[4]      -- the token's slots hash: socketId -> <relayId>/<run> (used when max_slots > 0)
local relays_key = KEYS[5]     -- the set of relay ids

local window_ms = ARGV[1]                 -- window length (counters expire with their window)
local ip_limit = tonumber(ARGV[2])        -- limit per address (0: this call counts nothing)
local token_limit = tonumber(ARGV[3])     -- limit per token (0: no token counter)
local once_ms = tonumber(ARGV[4])         -- how long to remember the jti (0: not single use)
local socket_id = ARGV[5]                 -- the socket taking the slot
local max_slots = tonumber(ARGV[6])       -- max slots of the token (0: no slot)
local slots_ttl_ms = tonumber(ARGV[7])    -- how long the slots hash may outlive its last use (0: no expiry)
local relay_prefix = ARGV[8]              -- <prefix><id> holds the relay's JSON while it is alive
local alive_prefix = ARGV[9]              -- <prefix><id>/<run>: liveness of one run
local dice = tonumber(ARGV[10])           -- in [0, 1): picks among equally loaded relays
local excluded_ids = ARGV[11]             -- relay ids to leave out, comma-separated (they refused this create)
local publish = ARGV[12]                  -- PUBLISH or SPUBLISH to send the open request, '' to send nothing
local open_prefix = ARGV[13]              -- <prefix><id>: a relay's open channel
local open_request = ARGV[14]             -- the open request, as the relay reads it
local sent_prefix = ARGV[15]              -- <prefix><run>: opens sent to that run it has not yet reported
                                          -- as taken (the relay's announce takes them off)

-- A relay's run, from its announced JSON. Relays of the release before this one announce it as
-- `boot`: read both, so that routers upgraded first keep placing on relays not yet upgraded.
local function run_of(r)
  return r.run or r.boot
end

local function count(key, limit)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, window_ms) end
  return n <= limit
end
if ip_limit > 0 and not count(ip_counter, ip_limit) then return {0, 'rate_limited'} end
if token_limit > 0 and not count(token_counter, token_limit) then return {0, 'rate_limited'} end
if once_ms > 0 and not redis.call('SET', once_key, '1', 'PX', once_ms, 'NX') then return {0, 'token_reused'} end

local excluded = {}
for id in string.gmatch(excluded_ids, '[^,]+') do excluded[id] = true end
local best, ties, least = nil, {}, nil
for _, id in ipairs(redis.call('SMEMBERS', relays_key)) do
  local json = redis.call('GET', relay_prefix .. id)
  if not json then
    redis.call('SREM', relays_key, id)
  elseif not excluded[id] then
    local r = cjson.decode(json)
    -- its load: what it announced, plus the opens sent to it that it has not reported yet
    local load = r.sockets + math.max(0, tonumber(redis.call('GET', sent_prefix .. run_of(r)) or '0'))
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
best = ties[math.floor(dice * #ties) + 1]

if max_slots > 0 then
  local r = cjson.decode(best)
  local n = redis.call('HLEN', slots_key)
  if n >= max_slots then
    local all = redis.call('HGETALL', slots_key)
    for i = 1, #all, 2 do
      if redis.call('EXISTS', alive_prefix .. all[i + 1]) == 0 then
        redis.call('HDEL', slots_key, all[i])
        n = n - 1
      end
    end
    if n >= max_slots then return {0, 'socket_limit'} end
  end
  redis.call('HSET', slots_key, socket_id, r.id .. '/' .. run_of(r))
  if slots_ttl_ms > 0 then redis.call('PEXPIRE', slots_key, slots_ttl_ms) end
end

-- The open request leaves with the admission: one round trip from the router for both.
local placed = cjson.decode(best)
local received = -1
if publish ~= '' then received = redis.call(publish, open_prefix .. placed.id, open_request) end
-- The placement counts itself at once: relays publish their load only every heartbeat, and a
-- storm of creates in between would otherwise all land on the relay that looked least loaded.
-- The relay's next announce takes it off again, counted in its own figure by then. An open
-- nobody received is not counted: no relay will ever report it. The counter outlives any
-- RELAY_TTL_MS (at most 5 minutes), and goes with its run.
if received ~= 0 then
  local sent = sent_prefix .. run_of(placed)
  redis.call('INCR', sent)
  redis.call('PEXPIRE', sent, 600000)
end
return {1, best, received}
