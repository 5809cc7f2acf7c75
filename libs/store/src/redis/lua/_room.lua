-- Shared functions of the group scripts, included with `--! include _room`.
-- A room's keys, in the order every group script declares them (keys.ts builds them):
--   users (HASH userId -> connections), members (ZSET userId, lexicographic), names (HASH
--   userId -> name), insts (HASH instanceId -> connections), the instance's share (HASH userId ->
--   its connections through that instance).
--! include _hooks
local ROOM_KEYS = 5

-- The room's place in its group's ranking: scored by distinct users, gone when it has none.
local function rank(users, ranking, room)
  local n = redis.call('HLEN', users)
  if n == 0 then redis.call('ZREM', ranking, room) else redis.call('ZADD', ranking, n, room) end
end

-- Adds `by` connections of user u to a room's users; returns the user's count before and after.
-- A user is a member while its count is above 0: members and names follow users exactly.
local function countUser(k, u, name, by)
  local before = tonumber(redis.call('HGET', k[1], u) or 0)
  local after = redis.call('HINCRBY', k[1], u, by)
  if after <= 0 then
    redis.call('HDEL', k[1], u)
    redis.call('ZREM', k[2], u)
    redis.call('HDEL', k[3], u)
  else
    if before <= 0 then redis.call('ZADD', k[2], 0, u) end
    if name then redis.call('HSET', k[3], u, name) end
  end
  return before, after
end

-- Adds `by` to an instance's connections in the room (insts), dropping the field at 0.
local function countInstance(insts, inst, by)
  if redis.call('HINCRBY', insts, inst, by) <= 0 then redis.call('HDEL', insts, inst) end
end

