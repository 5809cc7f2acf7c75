-- KEYS: the instance's conns and rooms (see conn-join).
-- ARGV: socketId, room.
-- Takes the room from a connection. Returns its userId if it held the room (the room's side,
-- room-leave, follows), else false.
local sid, room = ARGV[1], ARGV[2]
local c = redis.call('HGET', KEYS[1], sid)
if not c then return false end
local conn = cjson.decode(c)
local kept, found = {}, false
for _, r in ipairs(conn.r) do
  if r == room then found = true else table.insert(kept, r) end
end
if not found then return false end
conn.r = kept
redis.call('HSET', KEYS[1], sid, cjson.encode(conn))
if redis.call('HINCRBY', KEYS[2], room, -1) <= 0 then redis.call('HDEL', KEYS[2], room) end
return conn.u
