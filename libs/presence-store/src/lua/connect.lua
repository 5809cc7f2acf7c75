-- KEYS: none yet: key names are built here from ARGV[1], the prefix (keys.ts mirrors them), so
-- this script runs on a standalone Redis only until presence's layout is redesigned (issue 13).
-- ARGV: prefix, socketId, instanceId, userId, name, nowMs. Returns 1 if new.
local p, sid, inst, u = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', p..'conns', sid) == 1 then return 0 end
redis.call('HSET', p..'conns', sid, cjson.encode({i = inst, u = u}))
redis.call('SADD', p..'inst:'..inst..':conns', sid)
redis.call('HINCRBY', p..'users', u, 1)
redis.call('HSET', p..'names', u, ARGV[5])
redis.call('ZADD', p..'instances-seen', 'NX', ARGV[6], inst)
return 1
