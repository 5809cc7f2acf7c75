-- KEYS: the room's users, members, names, insts, the instance's share (see _room), the group's
--       SET of the instance's rooms, the room's ranking, its webhook counter.
-- ARGV: room, instanceId, userId, '1' when webhooks are on.
-- One connection fewer of the user in the room through the instance; nothing when the instance's
-- share holds none (a repeated leave). Returns {userId, name, seq, vacated} when it was the
-- user's last: `seq` numbers its member.left webhook event (0: webhooks off), and `vacated` is 1
-- when the room has no user left (its room.vacated event is numbered seq + 1).
--! include _room
local room, inst, u, on = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local mine = tonumber(redis.call('HGET', KEYS[5], u) or 0)
if mine <= 0 then return false end
if mine == 1 then redis.call('HDEL', KEYS[5], u) else redis.call('HINCRBY', KEYS[5], u, -1) end
if redis.call('EXISTS', KEYS[5]) == 0 then redis.call('SREM', KEYS[6], room) end
countInstance(KEYS[4], inst, -1)
local name = redis.call('HGET', KEYS[3], u) or u
local _, after = countUser(KEYS, u, nil, -1)
rank(KEYS[1], KEYS[7], room)
if after > 0 then return false end
local last = redis.call('HLEN', KEYS[1]) == 0
return {u, name, hooks(KEYS[8], on, last and 2 or 1), last and 1 or 0}
