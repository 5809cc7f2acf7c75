-- KEYS: the instance's conns (HASH socketId -> JSON {u, n, r: rooms}) and rooms (HASH room ->
--       its connections there).
-- ARGV: socketId, userId, name, room.
-- Adds the room to a connection, recording the connection first when presence lacks it (a join
-- carries its user: presence may have lost it). Returns {created, added}: 1 when the connection
-- is new, 1 when the room is new for it.
local sid, room = ARGV[1], ARGV[4]
local c = redis.call('HGET', KEYS[1], sid)
local conn, created = nil, 0
if c then
  conn = cjson.decode(c)
else
  conn = {u = ARGV[2], n = ARGV[3], r = {}}
  created = 1
end
for _, r in ipairs(conn.r) do
  if r == room then return {created, 0} end
end
table.insert(conn.r, room)
redis.call('HSET', KEYS[1], sid, cjson.encode(conn))
redis.call('HINCRBY', KEYS[2], room, 1)
return {created, 1}
