-- Counts one hit in a fixed rate-limit window, atomically.
-- KEYS[1]  the window's counter (its name carries the window number)
-- ARGV[1]  window length in ms: the counter expires with its window
-- Returns the hits in the window, this one included.
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
