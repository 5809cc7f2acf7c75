-- KEYS: 1 a room's sanctions by end (ZSET userId scored by the ban's or mute's end, +inf: until
--       lifted), 2 the same users in lexicographic order (ZSET every score 0); both of the room's
--       slot (keys.ts: roomBans/roomBanIds, roomMutes/roomMuteIds).
-- ARGV: now (ms), after (the last user id of the page before; '' for the first page), limit.
-- Both sets hold the same users (moderation.ts adds and removes in one MULTI, as here). The ended
-- sanctions leave both first (at most 1000 a call: O(log n + ended)), then the page is one
-- ZRANGEBYLEX after `after`: O(log n + limit), however many bans the room has.
-- A room banned from before the second set existed (or any mismatch) gets it rebuilt once from
-- the first, so its listing misses no one.
-- Returns up to limit + 1 user ids after `after`, in order (one more than the page: there is a
-- next page).
local ends, ids = KEYS[1], KEYS[2]
local now, after, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])

if redis.call('ZCARD', ids) ~= redis.call('ZCARD', ends) then
  redis.call('DEL', ids)
  local all = redis.call('ZRANGE', ends, 0, -1)
  for i = 1, #all, 500 do
    local args = {}
    for j = i, math.min(i + 499, #all) do
      args[#args + 1] = 0
      args[#args + 1] = all[j]
    end
    redis.call('ZADD', ids, unpack(args))
  end
end

local ended = redis.call('ZRANGEBYSCORE', ends, '-inf', '(' .. now, 'LIMIT', 0, 1000)
if #ended > 0 then
  redis.call('ZREM', ends, unpack(ended))
  redis.call('ZREM', ids, unpack(ended))
end

local from = '-'
if after ~= '' then from = '(' .. after end
return redis.call('ZRANGEBYLEX', ids, from, '+', 'LIMIT', 0, limit + 1)
