-- KEYS: the group's users (HASH userId -> connections), the instance's share of them.
-- ARGV: userId, +1 or -1.
-- One connection more or fewer of a user through an instance; a decrement with nothing in the
-- instance's share (a repeated disconnect) changes nothing. Returns the user's connections.
local u, by = ARGV[1], tonumber(ARGV[2])
if by < 0 and tonumber(redis.call('HGET', KEYS[2], u) or 0) <= 0 then
  return tonumber(redis.call('HGET', KEYS[1], u) or 0)
end
if redis.call('HINCRBY', KEYS[2], u, by) <= 0 then redis.call('HDEL', KEYS[2], u) end
local n = redis.call('HINCRBY', KEYS[1], u, by)
if n <= 0 then redis.call('HDEL', KEYS[1], u) end
return n
