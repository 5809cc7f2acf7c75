-- KEYS: none yet: key names are built here from ARGV[1], the prefix (keys.ts mirrors them), so
-- this script runs on a standalone Redis only until presence's layout is redesigned (issue 13).
-- ARGV: prefix, instanceId. Counts the instance's memberships afresh from its connections' room
-- sets (after a sync, so a counter that drifted, or predates the counter, is right again).
local p, inst = ARGV[1], ARGV[2]
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', p..'inst:'..inst..':conns')) do
  n = n + redis.call('SCARD', p..'conn:'..sid..':rooms')
end
if n > 0 then redis.call('HSET', p..'inst-memberships', inst, n) else redis.call('HDEL', p..'inst-memberships', inst) end
return n
