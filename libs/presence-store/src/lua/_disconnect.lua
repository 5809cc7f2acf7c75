-- Shared functions, included by the presence scripts with `--! include _disconnect`.
--! include _leave
-- Removes one connection; appends to out a {room, userId, name} per room the user left for good.
local function disconnect(p, sid, out)
  local c = redis.call('HGET', p..'conns', sid)
  if not c then return end
  local conn = cjson.decode(c)
  local name = redis.call('HGET', p..'names', conn.u) or conn.u
  for _, room in ipairs(redis.call('SMEMBERS', p..'conn:'..sid..':rooms')) do
    if leave(p, sid, conn.i, conn.u, room) then
      table.insert(out, room); table.insert(out, conn.u); table.insert(out, name)
    end
  end
  redis.call('DEL', p..'conn:'..sid..':rooms')
  redis.call('HDEL', p..'conns', sid)
  redis.call('SREM', p..'inst:'..conn.i..':conns', sid)
  if redis.call('HINCRBY', p..'users', conn.u, -1) <= 0 then
    redis.call('HDEL', p..'users', conn.u)
    redis.call('HDEL', p..'names', conn.u)
  end
end
