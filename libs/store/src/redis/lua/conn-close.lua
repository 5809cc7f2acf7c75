-- KEYS: the instance's conns and rooms (see conn-join).
-- ARGV: socketId.
-- Forgets a connection and its rooms. Returns {userId, room...} if it was there (the rooms' and
-- the user's sides follow), else false.
local c = redis.call('HGET', KEYS[1], ARGV[1])
if not c then return false end
local conn = cjson.decode(c)
local out = {conn.u}
for _, r in ipairs(conn.r) do
  if redis.call('HINCRBY', KEYS[2], r, -1) <= 0 then redis.call('HDEL', KEYS[2], r) end
  table.insert(out, r)
end
redis.call('HDEL', KEYS[1], ARGV[1])
return out
