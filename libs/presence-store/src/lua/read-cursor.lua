-- KEYS: the room's reads (HASH userId -> cursor), history and seq keys.
-- ARGV: user id, mode ('join': a user without a cursor starts at the room's last seq; 'read':
--       move the cursor to seq, never back and never past the last seq; 'peek': no change),
--       seq (read), cursor ttl ms.
-- Unread is a count of the history's messages after the cursor (ZCOUNT, O(log n)): updates are
-- kept apart, and a user's own send moves the cursor to it, so nothing after the cursor is the
-- user's own. Returns {cursor, unread (at most 1000), 1 if the cursor moved, the last seq, the
-- newest message's ts (0 without one)}.
local rk, hk, sk = KEYS[1], KEYS[2], KEYS[3]
local user, mode = ARGV[1], ARGV[2]
local last = tonumber(redis.call('GET', sk) or 0)
local cur = tonumber(redis.call('HGET', rk, user))
local moved = 0
if mode == 'join' and not cur then
  cur, moved = last, 1
elseif mode == 'read' then
  local to = math.min(tonumber(ARGV[3]), last)
  if not cur or to > cur then cur, moved = to, 1 end
end
cur = cur or 0
if moved == 1 then
  redis.call('HSET', rk, user, string.format('%d', cur))
  redis.call('PEXPIRE', rk, ARGV[4])
end
local unread = math.min(redis.call('ZCOUNT', hk, '(' .. string.format('%d', cur), '+inf'), 1000)
local newest = redis.call('ZRANGE', hk, -1, -1)[1]
local ts = newest and tonumber(string.match(newest, '[{,]"ts":(%d+)')) or 0
return {string.format('%d', cur), unread, moved, string.format('%d', last), string.format('%d', ts)}
