-- KEYS: the room's users, members, names, insts, the instance's share (see _room), the group's
--       SET of the instance's rooms, the room's ranking.
-- ARGV: room, instanceId, userId, name.
-- One more connection of the user in the room through the instance (the instance side,
-- conn-join, already recorded it). Returns {userId, name} when the user is new in the room.
--! include _room
local room, inst, u, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HINCRBY', KEYS[5], u, 1)
countInstance(KEYS[4], inst, 1)
redis.call('SADD', KEYS[6], room)
local before = countUser(KEYS, u, name, 1)
rank(KEYS[1], KEYS[7], room)
if before <= 0 then return {u, name} end
return false
