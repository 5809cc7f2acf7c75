-- KEYS: for each room, its reads (HASH userId -> cursor), history and seq keys (3 per room; all
--       of one slot on a cluster: `rooms:unread` sends one call per group).
-- ARGV: user id, mode ('join', a first join: a user without a cursor starts at the room's last
--       seq; 'read': move the cursor to seq, never back and never past the last seq; 'peek': no
--       change), seq (read), cursor ttl ms, the log's ttl ms (HISTORY_MAX_AGE_MS).
-- Unread is a count of the history's messages after the cursor (ZCOUNT, O(log n)): updates are
-- kept apart, and a user's own send moves the cursor to it, so nothing after the cursor is the
-- user's own. In a room without a counter (no message retained, or never one) nothing is stored
-- for a user without a cursor: a cursor there could only say 0, which is what no cursor says
-- (every message to come is unread), and any name would cost a key for 30 days.
-- 'join' and 'read' take one room.
-- When the room's log last changed is read from its seq key's expiry (every append, message or
-- update, sets it to the log's ttl), not from the newest message: that would copy up to 16 KB per
-- room into Lua and scan it, and `rooms:unread` reads 200 rooms.
-- Returns, per room, {cursor, unread (at most 1000), 1 if the cursor moved, the last seq, when
-- the log last changed (ms, Redis's clock; 0 without a log), 1 if the user has a cursor there}.
local user, mode, logTtl = ARGV[1], ARGV[2], tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS, 3 do
  local rk, hk, sk = KEYS[i], KEYS[i + 1], KEYS[i + 2]
  local last = tonumber(redis.call('GET', sk) or 0)
  local cur = tonumber(redis.call('HGET', rk, user))
  local moved = 0
  if mode == 'join' and not cur and last > 0 then
    cur, moved = last, 1
  elseif mode == 'read' and (cur or last > 0) then
    local to = math.min(tonumber(ARGV[3]), last)
    if not cur or to > cur then cur, moved = to, 1 end
  end
  local has = cur and 1 or 0
  cur = cur or 0
  if moved == 1 then
    redis.call('HSET', rk, user, string.format('%d', cur))
    redis.call('PEXPIRE', rk, ARGV[4])
  end
  local unread = math.min(redis.call('ZCOUNT', hk, '(' .. string.format('%d', cur), '+inf'), 1000)
  local left = last > 0 and redis.call('PTTL', sk) or -2
  local at = left > 0 and math.max(now - logTtl + left, 0) or 0
  out[#out + 1] = {string.format('%d', cur), unread, moved, string.format('%d', last), string.format('%d', at), has}
end
return out
