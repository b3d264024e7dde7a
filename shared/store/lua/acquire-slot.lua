-- Takes one of a token's socket slots, atomically (max_sockets, docs/PROTOCOL.md §6.1).
-- KEYS[1]  slots hash of the token: socketId -> holder (<relayId>/<boot>: one run of a relay)
-- ARGV[1]  socketId taking the slot
-- ARGV[2]  holder: the run of the relay that will hold the socket
-- ARGV[3]  max: slots the token may hold at once
-- ARGV[4]  prefix of run liveness keys (<prefix><holder> exists while that run is alive)
-- ARGV[5]  ms the hash may outlive its last use (0: no expiry)
-- Returns 1 when the slot was taken, 0 when the token holds max slots on live relays.
-- Slots of runs whose liveness key expired are reclaimed first: a crashed relay never leaks quota,
-- even when it comes back under the same id (that is a new run).
local n = redis.call('HLEN', KEYS[1])
local max = tonumber(ARGV[3])
if n >= max then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if redis.call('EXISTS', ARGV[4] .. all[i + 1]) == 0 then
      redis.call('HDEL', KEYS[1], all[i])
      n = n - 1
    end
  end
  if n >= max then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return 1
