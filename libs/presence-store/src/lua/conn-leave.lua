-- KEYS: the instance's conns and rooms (see conn-join).
-- ARGV: socketId, room.
-- Takes the room from a connection, after the room's side (room-leave) has. Returns 1 if it held
-- the room.
local sid, room = ARGV[1], ARGV[2]
local c = redis.call('HGET', KEYS[1], sid)
if not c then return 0 end
local conn = cjson.decode(c)
local kept, found = {}, 0
for _, r in ipairs(conn.r) do
  if r == room then found = 1 else table.insert(kept, r) end
end
if found == 0 then return 0 end
conn.r = kept
redis.call('HSET', KEYS[1], sid, cjson.encode(conn))
if redis.call('HINCRBY', KEYS[2], room, -1) <= 0 then redis.call('HDEL', KEYS[2], room) end
return 1
