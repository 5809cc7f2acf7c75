-- KEYS: the room's users, members, names, insts, the instance's share (see _room), the group's
--       SET of the instance's rooms, the room's ranking, its webhook counter.
-- ARGV: room, instanceId, userId, name, '1' when webhooks are on.
-- One more connection of the user in the room through the instance (the instance side,
-- conn-join, already recorded it). Returns {userId, name, seq, occupied} when the user is new in
-- the room: `seq` numbers its member.joined webhook event (0: webhooks off), and `occupied` is 1
-- when it is the room's first user (its room.occupied event is numbered seq - 1).
--! include _room
local room, inst, u, name, on = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
redis.call('HINCRBY', KEYS[5], u, 1)
countInstance(KEYS[4], inst, 1)
redis.call('SADD', KEYS[6], room)
local before = countUser(KEYS, u, name, 1)
rank(KEYS[1], KEYS[7], room)
if before > 0 then return false end
local first = redis.call('HLEN', KEYS[1]) == 1
local seq = hooks(KEYS[8], on, first and 2 or 1)
if first and seq > 0 then seq = seq + 1 end
return {u, name, seq, first and 1 or 0}
