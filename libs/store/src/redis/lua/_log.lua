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
  -- A counter that exists keeps its expiry: retain refreshes it with the rest of the log.
  if gen then
    redis.call('SET', k[1], string.format('%d', seq), 'PX', ttl)
    redis.call('SET', k[2], string.format('%d', gen), 'PX', ttl)
  else
    redis.call('SET', k[1], string.format('%d', seq), 'KEEPTTL')
  end
  return seq, prev or 0
end

-- Removes the `n` oldest messages with their id, their edits and their reactors (ZPOPMIN: the
-- read and the removal in one call).
local function dropOldest(k, n)
  local old = redis.call('ZPOPMIN', k[3], n)
  for i = 1, #old, 2 do
    local s, id = string.match(old[i], '^{"seq":(%d+),"id":"([^"]*)"')
    if id then redis.call('HDEL', k[4], id) end
    if s then
      redis.call('HDEL', k[5], 'b:' .. s, 'o:' .. s, 'l:' .. s)
      local from, to = reactorRange(s)
      redis.call('ZREMRANGEBYLEX', k[8], from, to)
    end
  end
end

-- Retention: at most `max` messages and `max` updates, none older than ttl ms (checked on the
-- oldest only: the age trim reads `"ts":` where only a key can stand, after `{` or `,`), and no
-- update older than the oldest message kept. Every key of the log expires ttl ms after the last
-- write; read cursors `cursorTtl` ms after.
--
-- `full` (update-message) does all of it. An append does only what is due, the same guarantees
-- in fewer calls: it adds no update, so the update count bound cannot be crossed and an update
-- can only fall below the oldest message when one was dropped here; and the expiries are
-- refreshed only once history's has run down by a margin (ttl/64, at most 60 s), so the log's
-- keys expire between ttl less the margin and ttl after the last append. PTTL of history and
-- ids stands for the other log keys: an append creates only those two (and reads, whose expiry
-- is refreshed every time; seq and gen, which nextSeq creates with their expiry and otherwise
-- rewrites keeping it), while edits, updates and reactors are created only by update-message,
-- which refreshes every key; so any key created without an expiry is seen here, and all the log
-- keys but reads share one expiry.
local function retain(k, max, ttl, now, cursorTtl, full)
  ttl = tonumber(ttl)
  local dropped = false
  local over = redis.call('ZCARD', k[3]) - max
  if over > 0 then
    dropOldest(k, over)
    dropped = true
  end
  local cutoff = now - ttl
  local first
  for _ = 1, 100 do
    first = redis.call('ZRANGE', k[3], 0, 0, 'WITHSCORES')
    if #first == 0 then break end
    local ts = tonumber(string.match(first[1], '[{,]"ts":(%d+)'))
    if not ts or ts >= cutoff then break end
    dropOldest(k, 1)
    dropped = true
    first = nil
  end
  -- The oldest kept, when the age trim ran out of turns.
  if not first then first = redis.call('ZRANGE', k[3], 0, 0, 'WITHSCORES') end
  if full then redis.call('ZREMRANGEBYRANK', k[6], 0, -(max + 1)) end
  if first[2] and (full or dropped) then
    redis.call('ZREMRANGEBYSCORE', k[6], '-inf', '(' .. first[2])
  end
  local fresh = ttl - math.min(math.floor(ttl / 64), 60000)
  local due = full or redis.call('PTTL', k[3]) < fresh or redis.call('PTTL', k[4]) < fresh
  if due then
    for i = 1, 6 do redis.call('PEXPIRE', k[i], ttl) end
    redis.call('PEXPIRE', k[8], ttl)
  end
  redis.call('PEXPIRE', k[7], cursorTtl)
end
