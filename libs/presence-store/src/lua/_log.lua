-- Shared functions of a room's log (append-message, update-message), included with
-- `--! include _log`. A room's log keys, in the order both scripts declare them (keys.ts):
--   seq, gen, history (ZSET message JSON by seq), ids (HASH id -> seq), edits (HASH b:/o:/l:<seq>),
--   updates (ZSET update JSON by seq), reads (HASH userId -> read cursor), reactors (ZSET, every
--   score 0, of `<seq>:<emoji's byte length>:<emoji><userId>`: who reacted with what).
local LOG_KEYS = 8

-- The start of every reactor entry of message `seq`, and the one past its end: `:` is followed
-- by `;` in byte order, and a longer seq differs from `seq` before its `:` (so `12:` never
-- matches `123:`).
local function reactorRange(seq)
  return '[' .. seq .. ':', '(' .. seq .. ';'
end

-- The room's next seq: one past the counter (never below `floor`, the last seq the calling
-- gateway delivered), or a new generation at Redis's clock in microseconds when the room has no
-- counter. Returns the seq and the seq before it (0 when it started a generation).
local function nextSeq(k, floor, ttl)
  local prev = tonumber(redis.call('GET', k[1]))
  if prev and prev < floor then prev = floor end
  local gen
  if not prev then
    local t = redis.call('TIME')
    gen = math.max(tonumber(t[1]) * 1000000 + tonumber(t[2]), floor)
  end
  local seq = (prev or gen) + 1
  redis.call('SET', k[1], string.format('%d', seq), 'PX', ttl)
  if gen then redis.call('SET', k[2], string.format('%d', gen), 'PX', ttl) else redis.call('PEXPIRE', k[2], ttl) end
  return seq, prev or 0
end

-- Removes the `n` oldest messages with their id, their edits and their reactors.
local function dropOldest(k, n)
  local old = redis.call('ZRANGE', k[3], 0, n - 1)
  for _, m in ipairs(old) do
    local s, id = string.match(m, '^{"seq":(%d+),"id":"([^"]*)"')
    if id then redis.call('HDEL', k[4], id) end
    if s then
      redis.call('HDEL', k[5], 'b:' .. s, 'o:' .. s, 'l:' .. s)
      local from, to = reactorRange(s)
      redis.call('ZREMRANGEBYLEX', k[8], from, to)
    end
  end
  redis.call('ZREMRANGEBYRANK', k[3], 0, n - 1)
end

-- Retention: at most `max` messages and `max` updates, none older than ttl ms (checked on the
-- oldest only: the age trim reads `"ts":` where only a key can stand, after `{` or `,`), and no
-- update older than the oldest message kept. Every key of the log expires ttl ms after the last
-- append; read cursors `cursorTtl` ms after.
local function retain(k, max, ttl, now, cursorTtl)
  local over = redis.call('ZCARD', k[3]) - max
  if over > 0 then dropOldest(k, over) end
  local cutoff = now - tonumber(ttl)
  for _ = 1, 100 do
    local oldest = redis.call('ZRANGE', k[3], 0, 0)
    if #oldest == 0 then break end
    local ts = tonumber(string.match(oldest[1], '[{,]"ts":(%d+)'))
    if not ts or ts >= cutoff then break end
    dropOldest(k, 1)
  end
  redis.call('ZREMRANGEBYRANK', k[6], 0, -(max + 1))
  local first = redis.call('ZRANGE', k[3], 0, 0, 'WITHSCORES')
  if first[2] then redis.call('ZREMRANGEBYSCORE', k[6], '-inf', '(' .. first[2]) end
  for i = 3, 6 do redis.call('PEXPIRE', k[i], ttl) end
  redis.call('PEXPIRE', k[8], ttl)
  redis.call('PEXPIRE', k[7], cursorTtl)
end
