-- KEYS: none yet: key names are built here from ARGV[1], the prefix (keys.ts mirrors them), so
-- this script runs on a standalone Redis only until presence's layout is redesigned (issue 13).
-- ARGV: prefix, instanceId. Drops the instance and all its connections; returns as DISCONNECT.
--! include _disconnect
local p, inst = ARGV[1], ARGV[2]
local out = {}
for _, sid in ipairs(redis.call('SMEMBERS', p..'inst:'..inst..':conns')) do
  disconnect(p, sid, out)
end
redis.call('DEL', p..'inst:'..inst..':conns')
-- Empty by now unless a count drifted: then the rooms must not keep naming this instance.
for _, room in ipairs(redis.call('HKEYS', p..'inst:'..inst..':rooms')) do
  redis.call('HDEL', p..'room:'..room..':insts', inst)
end
redis.call('DEL', p..'inst:'..inst..':rooms')
redis.call('HDEL', p..'instances', inst)
redis.call('ZREM', p..'instances-seen', inst)
return out
