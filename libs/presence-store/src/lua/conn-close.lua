-- KEYS: the instance's conns and rooms (see conn-join).
-- ARGV: socketId.
-- Forgets a connection and its rooms, after the rooms' and users' sides have. Returns 1 if it
-- was there.
local c = redis.call('HGET', KEYS[1], ARGV[1])
if not c then return 0 end
for _, r in ipairs(cjson.decode(c).r) do
  if redis.call('HINCRBY', KEYS[2], r, -1) <= 0 then redis.call('HDEL', KEYS[2], r) end
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
