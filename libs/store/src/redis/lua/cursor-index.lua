-- KEYS: the user's cursor index (ZSET room -> when the user last joined or read it).
-- ARGV: the room, now (ms), the most rooms kept, the index's ttl (ms).
-- Puts the room first in the index and keeps the most recent ones, in one call (a MULTI of four
-- before). Returns the rooms that fell out, whose cursors the caller removes (each in its own
-- slot).
local keep = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local dropped = redis.call('ZRANGE', KEYS[1], 0, -(keep + 1))
if #dropped > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(keep + 1)) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return dropped
