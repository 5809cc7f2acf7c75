-- KEYS: the room's seq, gen and history keys, then its clientId key when the send has one.
-- ARGV: message JSON without its opening brace, max retained, max age ms, now ms, floor seq,
--       message id, message ts.
-- Assigns the room's next seq and stores the message in one step, so history order is seq order.
-- A client key already set (a retried clientId) returns the first send's ack instead.
--
-- A room without a counter (new, idle past retention, or lost when Redis restarted empty) starts
-- a new generation at Redis's clock in microseconds (and never below the floor: the last seq the
-- calling gateway delivered). A room would need a million messages a second for its whole life
-- to overtake the clock, so a new generation's seqs are above every seq any gateway or client
-- can hold from an earlier one: a seq is never reused for another message. (Seqs stay below
-- 2^53, exact in JSON and in Lua's doubles, until the year 2255; Lua's tostring would print them
-- with an exponent, so they are formatted with %d.)
--
-- It never decodes a stored message (one that cjson cannot parse must not disable the room): the
-- age trim reads `"ts":` where only a key can stand (after `{` or `,`; inside a JSON string
-- every quote is escaped). Reads come first and nothing can fail after the first write.
-- Returns {ack JSON, 0, the seq before this one in its generation (0 for the first)}, or for a
-- retried clientId {the first ack JSON, 1, the generation's start ('-1' if unknown)}.
local sk, gk, hk, ck = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local json, max, ttl, now, floor = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
if ck then
  local first = redis.call('GET', ck)
  if first then return {first, 1, redis.call('GET', gk) or '-1'} end
end
local prev = tonumber(redis.call('GET', sk))
if prev and prev < floor then prev = floor end
local gen
if not prev then
  local t = redis.call('TIME')
  gen = math.max(tonumber(t[1]) * 1000000 + tonumber(t[2]), floor)
end
local seq = (prev or gen) + 1
local s = string.format('%d', seq)
redis.call('SET', sk, s, 'PX', ttl)
if gen then redis.call('SET', gk, string.format('%d', gen), 'PX', ttl) else redis.call('PEXPIRE', gk, ttl) end
redis.call('ZADD', hk, s, '{"seq":'..s..','..json)
redis.call('ZREMRANGEBYRANK', hk, 0, -(max + 1))
local cutoff = now - tonumber(ttl)
for _ = 1, 100 do
  local oldest = redis.call('ZRANGE', hk, 0, 0)
  if #oldest == 0 then break end
  local ts = tonumber(string.match(oldest[1], '[{,]"ts":(%d+)'))
  if not ts or ts >= cutoff then break end
  redis.call('ZREMRANGEBYRANK', hk, 0, 0)
end
redis.call('PEXPIRE', hk, ttl)
local ack = '{"id":"'..ARGV[6]..'","seq":'..s..',"ts":'..ARGV[7]..'}'
if ck then redis.call('SET', ck, ack, 'PX', ttl) end
return {ack, 0, string.format('%d', prev or 0)}
