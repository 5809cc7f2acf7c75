-- KEYS: the group's users, the instance's share of them, the group's SET of the instance's
--       rooms; then per room: its 5 keys (see _room), its ranking and its webhook counter.
-- ARGV: instanceId, JSON {"u": {userId: connections}, "r": {room: {userId: connections}},
--       "n": {userId: name}, "h": 1 when webhooks are on} (what the instance holds in this
--       group), then the rooms of KEYS in their order: every room of the JSON and of the SET.
-- Makes the instance's share of the group exactly the JSON, and the totals beside each share
-- follow: a sync (the gateway's own account), or the removal of a dead instance (nothing).
-- Returns {0} when the SET names a room that was not declared (the caller reads it again and
-- retries), else {1, then per user who arrived ('j') or left ('l') a room: kind, room, userId,
-- name, seq, edge}: `seq` numbers the member.joined / member.left webhook event (0: webhooks
-- off), `edge` is 1 when the change occupied the room (room.occupied numbered seq - 1) or
-- vacated it (room.vacated numbered seq + 1), as in room-join and room-leave.
--! include _room
local inst, want = ARGV[1], cjson.decode(ARGV[2])
local on = want.h == 1
local declared = {}
for j = 3, #ARGV do declared[ARGV[j]] = true end
for _, room in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if not declared[room] then return {0} end
end

-- Replaces the instance's share (a HASH of counts) with `want`; calls f(field, difference) for
-- each field whose count changed, which adjusts the total beside the share.
local function replace(share, want, f)
  local delta = {}
  local old = redis.call('HGETALL', share)
  for i = 1, #old, 2 do delta[old[i]] = -tonumber(old[i + 1]) end
  for field, n in pairs(want) do delta[field] = (delta[field] or 0) + n end
  redis.call('DEL', share)
  for field, n in pairs(want) do
    if n > 0 then redis.call('HSET', share, field, n) end
  end
  for field, d in pairs(delta) do
    if d ~= 0 then f(field, d) end
  end
end

replace(KEYS[2], want.u, function(u, d)
  if redis.call('HINCRBY', KEYS[1], u, d) <= 0 then redis.call('HDEL', KEYS[1], u) end
end)

local out = {1}
for j = 3, #ARGV do
  local room = ARGV[j]
  local base = 3 + (j - 3) * (ROOM_KEYS + 2)
  local k = {}
  for i = 1, ROOM_KEYS do k[i] = KEYS[base + i] end
  local ranking = KEYS[base + ROOM_KEYS + 1]
  local counter = KEYS[base + ROOM_KEYS + 2]
  local users = want.r[room] or {}
  local conns = 0
  for _, n in pairs(users) do conns = conns + n end
  replace(k[5], users, function(u, d)
    local name = want.n[u]
    local left = redis.call('HGET', k[3], u) or u
    local before, after = countUser(k, u, name, d)
    if before <= 0 and after > 0 then
      local edge = redis.call('HLEN', k[1]) == 1
      local seq = hooks(counter, on, edge and 2 or 1)
      if edge and seq > 0 then seq = seq + 1 end
      for _, v in ipairs({'j', room, u, name or u, seq, edge and 1 or 0}) do table.insert(out, v) end
    elseif before > 0 and after <= 0 then
      local edge = redis.call('HLEN', k[1]) == 0
      local seq = hooks(counter, on, edge and 2 or 1)
      for _, v in ipairs({'l', room, u, left, seq, edge and 1 or 0}) do table.insert(out, v) end
    end
  end)
  if conns > 0 then
    redis.call('HSET', k[4], inst, conns)
    redis.call('SADD', KEYS[3], room)
  else
    redis.call('HDEL', k[4], inst)
    redis.call('SREM', KEYS[3], room)
  end
  rank(k[1], ranking, room)
end
return out
