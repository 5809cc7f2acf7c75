-- KEYS: the room's log keys (_log.lua), its webhook counter, then its clientId key when the send
--       has one.
-- ARGV: message JSON without its opening brace (it starts with "id"), max retained, max age ms,
--       now ms, floor seq, message id, message ts, sender's user id, read cursor ttl ms, '1' when
--       message.created webhooks are on, the send's fingerprint (22 base64url characters of a
--       hash of its user and text).
-- Assigns the room's next seq and stores the message in one step, so history order is seq order,
-- and moves the sender's read cursor to it. The clientId key holds the fingerprint followed by
-- the ack: a retry (same fingerprint) returns the first send's ack instead; the same clientId
-- with another user name or text is refused, never taken for a retry of the first. A key that
-- starts with '{' is an ack stored before fingerprints existed: taken for a retry, as it was.
--
-- A new generation (_log.lua's nextSeq) starts at Redis's clock in microseconds: a room would
-- need a million messages a second for its whole life to overtake the clock, so a new
-- generation's seqs are above every seq any gateway or client can hold from an earlier one: a seq
-- is never reused. (Seqs stay below 2^53, exact in JSON and in Lua's doubles, until the year
-- 2255; Lua's tostring would print them with an exponent, so they are formatted with %d.)
--
-- It never decodes a stored message (one that cjson cannot parse must not disable the room).
-- Reads come first and nothing can fail after the first write.
-- Returns {ack JSON, 0, the seq before this one in its generation (0 for the first), the number
-- of its message.created webhook event (0: off)}, for a retried clientId {the first ack JSON,
-- 1, the generation's start ('-1' if unknown), 0}, or for a clientId used by another send
-- {'', 2, '0', 0}.
--! include _log
--! include _hooks
local hk, ck = KEYS[LOG_KEYS + 1], KEYS[LOG_KEYS + 2]
local json, max, ttl, now, floor = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local fp = ARGV[11]
if ck then
  local first = redis.call('GET', ck)
  if first then
    if string.byte(first, 1) ~= 123 then -- not '{': a fingerprint leads
      if string.sub(first, 1, #fp) ~= fp then return {'', 2, '0', 0} end
      first = string.sub(first, #fp + 1)
    end
    return {first, 1, redis.call('GET', KEYS[2]) or '-1', 0}
  end
end
local seq, prev = nextSeq(KEYS, floor, ttl)
local s = string.format('%d', seq)
redis.call('ZADD', KEYS[3], s, '{"seq":' .. s .. ',' .. json)
redis.call('HSET', KEYS[4], ARGV[6], s)
redis.call('HSET', KEYS[7], ARGV[8], s)
retain(KEYS, max, ttl, now, ARGV[9])
local ack = '{"id":"' .. ARGV[6] .. '","seq":' .. s .. ',"ts":' .. ARGV[7] .. '}'
if ck then redis.call('SET', ck, fp .. ack, 'PX', ttl) end
return {ack, 0, string.format('%d', prev), hooks(hk, ARGV[10] == '1', 1)}
