-- KEYS: none yet: key names are built here from ARGV[1], the prefix (keys.ts mirrors them), so
-- this script runs on a standalone Redis only until presence's layout is redesigned (issue 13).
-- ARGV: prefix, socketId, room. Returns {userId, name} when the user's last connection left.
--! include _leave
local p, sid, room = ARGV[1], ARGV[2], ARGV[3]
local c = redis.call('HGET', p..'conns', sid)
if not c then return false end
local conn = cjson.decode(c)
local u = conn.u
if leave(p, sid, conn.i, u, room) then return {u, redis.call('HGET', p..'names', u) or u} end
return false
