-- KEYS: none yet: key names are built here from ARGV[1], the prefix (keys.ts mirrors them), so
-- this script runs on a standalone Redis only until presence's layout is redesigned (issue 13).
-- ARGV: prefix, instanceId. Rebuilds the instance's room counts (inst:<i>:rooms and each
-- room:<r>:insts) from its connections' room sets, after a sync, so counts that drifted, or
-- predate them, are right again. Returns the instance's memberships.
--! include _leave
local p, inst = ARGV[1], ARGV[2]
local ik = p..'inst:'..inst..':rooms'
for _, room in ipairs(redis.call('HKEYS', ik)) do
  redis.call('HDEL', p..'room:'..room..':insts', inst)
end
redis.call('DEL', ik)
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', p..'inst:'..inst..':conns')) do
  for _, room in ipairs(redis.call('SMEMBERS', p..'conn:'..sid..':rooms')) do
    countInstance(p, inst, room, 1)
    n = n + 1
  end
end
return n
