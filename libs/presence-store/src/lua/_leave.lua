-- Shared functions, included by the presence scripts with `--! include _leave`.
-- Lua scripts: each presence change is one atomic step, so concurrent gateways and presence
-- replicas never leave counts half-updated. Key names mirror keys.ts (ARGV[1] is the prefix).
-- Private rooms are ranked apart, so a public answer never has to filter them out.
local function roomsKey(p, room)
  if string.sub(room, 1, 8) == 'private-' then return p..'private-rooms' end
  return p..'rooms'
end
-- Counts one connection of an instance in a room in both directions (inst:<i>:rooms and
-- room:<r>:insts); at 0 the field goes, and with the last field Redis drops the hash.
local function countInstance(p, inst, room, by)
  local ik, rik = p..'inst:'..inst..':rooms', p..'room:'..room..':insts'
  if redis.call('HINCRBY', ik, room, by) <= 0 then redis.call('HDEL', ik, room) end
  if redis.call('HINCRBY', rik, inst, by) <= 0 then redis.call('HDEL', rik, inst) end
end
local function leave(p, sid, inst, u, room)
  if redis.call('SREM', p..'conn:'..sid..':rooms', room) == 0 then return false end
  countInstance(p, inst, room, -1)
  local rk = p..'room:'..room..':users'
  local n = redis.call('HINCRBY', rk, u, -1)
  -- room:<r>:members holds exactly the fields of room:<r>:users, in lexicographic order.
  if n <= 0 then
    redis.call('HDEL', rk, u)
    redis.call('ZREM', p..'room:'..room..':members', u)
  end
  if redis.call('HINCRBY', p..'room-conns', room, -1) <= 0 then redis.call('HDEL', p..'room-conns', room) end
  local users = redis.call('HLEN', rk)
  if users == 0 then redis.call('ZREM', roomsKey(p, room), room) else redis.call('ZADD', roomsKey(p, room), users, room) end
  return n <= 0
end
