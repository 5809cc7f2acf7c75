-- KEYS: none yet: key names are built here from ARGV[1], the prefix (keys.ts mirrors them), so
-- this script runs on a standalone Redis only until presence's layout is redesigned (issue 13).
-- ARGV: prefix, socketId, room. Returns {userId, name} when the user is new in the room.
--! include _leave
local p, sid, room = ARGV[1], ARGV[2], ARGV[3]
local c = redis.call('HGET', p..'conns', sid)
if not c then return false end
if redis.call('SADD', p..'conn:'..sid..':rooms', room) == 0 then return false end
local conn = cjson.decode(c)
local u = conn.u
countInstance(p, conn.i, room, 1)
local rk = p..'room:'..room..':users'
local n = redis.call('HINCRBY', rk, u, 1)
local mk = p..'room:'..room..':members'
if n == 1 then redis.call('ZADD', mk, 0, u) end
-- A room whose members predate room:<r>:members (or that drifted from room:<r>:users) gets it
-- rebuilt, once: both counts are O(1), the rebuild O(members).
if redis.call('ZCARD', mk) ~= redis.call('HLEN', rk) then
  redis.call('DEL', mk)
  local ids = redis.call('HKEYS', rk)
  for i = 1, #ids, 1000 do
    local batch = {}
    for j = i, math.min(i + 999, #ids) do table.insert(batch, 0); table.insert(batch, ids[j]) end
    redis.call('ZADD', mk, unpack(batch))
  end
end
redis.call('HINCRBY', p..'room-conns', room, 1)
redis.call('ZADD', roomsKey(p, room), redis.call('HLEN', rk), room)
if n == 1 then return {u, redis.call('HGET', p..'names', u) or u} end
return false
