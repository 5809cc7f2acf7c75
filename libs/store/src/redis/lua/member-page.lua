-- KEYS: the room's members (ZSET userId, every score 0, in lexicographic order), its users
--       (HASH userId -> connections) and their names (HASH userId -> name): one slot.
-- ARGV: where the page starts ('-', or '(' and the last id of the page before), how many ids to
--       read (the page's size and one more, which says whether another page follows), and a
--       user to look for in the whole room ('' for none).
-- One page of a room's members in one call: what a MULTI and an HMGET after it read before.
-- Returns {ids, names (false for an id without one), the room's number of users, 1 if the user
-- is a member}.
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
local names = {}
if #ids > 0 then names = redis.call('HMGET', KEYS[3], unpack(ids)) end
local has = 0
if ARGV[3] ~= '' then has = redis.call('HEXISTS', KEYS[2], ARGV[3]) end
return {ids, names, redis.call('ZCARD', KEYS[1]), has}
