-- KEYS: the room's log keys (_log.lua), then its update clientId key when the call has one.
-- ARGV: kind (edit, delete, react), update JSON without its opening brace, max retained, max age
--       ms, now ms, floor seq, message id, the author's mark (`,"user":{"id":<JSON id>,`), text
--       (edit), emoji (react), on ('1' or '0', react), max distinct reactions, read cursor ttl ms.
-- An edit, deletion or reaction change: checks that the message is retained (and not deleted)
-- and, for an edit or a deletion, that the caller wrote it; then gives the update the room's next
-- seq, stores it, and rewrites the stored message in its new state, in one step.
--
-- The stored message stays the JSON the gateway wrote, never decoded: its first version is kept
-- as `b:<seq>` in the edits hash and the history holds that text with what changed appended
-- (`o:<seq>`, JSON that cjson itself wrote), whose keys come later and so win in JSON.parse.
-- Returns {ack JSON, code, the seq before this one, the target's seq}: code 0 done, 1 a retried
-- clientId (the first ack), 2 no such message retained, 3 not the author, 4 too many reactions.
--! include _log

-- A stored message with an empty text. The gateway writes `"room":...,"text":"...","user":{`
-- in that order, and inside a JSON string every quote is escaped, so the first `","user":{"id":`
-- after the text's start is its end. Anything else is left as it is.
local function withoutText(m)
  local from = string.find(m, ',"text":"', 1, true)
  local to = from and string.find(m, '","user":{"id":', from + 8, true)
  if not to then return m end
  return string.sub(m, 1, from + 8) .. string.sub(m, to)
end
local ck = KEYS[LOG_KEYS + 1]
local kind, json, max, ttl, now, floor = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
if ck then
  local first = redis.call('GET', ck)
  if first then return {first, 1, '0', '0'} end
end
local t = redis.call('HGET', KEYS[4], ARGV[7])
if not t then return {'', 2, '0', '0'} end
local stored = redis.call('ZRANGEBYSCORE', KEYS[3], t, t)[1]
local ts = stored and tonumber(string.match(stored, '[{,]"ts":(%d+)'))
if not ts or ts < now - tonumber(ttl) then return {'', 2, '0', t} end
local base = redis.call('HGET', KEYS[5], 'b:' .. t) or stored
local raw = redis.call('HGET', KEYS[5], 'o:' .. t)
local state = raw and cjson.decode(raw) or {}
if state.deleted then return {'', 2, '0', t} end
if kind ~= 'react' and not string.find(base, ARGV[8], 1, true) then return {'', 3, '0', t} end
if kind == 'edit' then
  state.text = ARGV[9]
  state.editedAt = now
elseif kind == 'delete' then
  state = {deleted = true, text = ''}
  base = withoutText(base)
  -- The text goes for good: earlier edits of it keep no copy (their update shows an empty text).
  for _, u in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], '(' .. t, '+inf')) do
    local at = string.find(u, ',"kind":"edit","text":"', 1, true)
    if at and string.find(u, ',"targetSeq":' .. t .. ',', 1, true) then
      local us = string.match(u, '^{"seq":(%d+)')
      redis.call('ZREMRANGEBYSCORE', KEYS[6], us, us)
      redis.call('ZADD', KEYS[6], us, string.sub(u, 1, at - 1) .. ',"kind":"edit","text":""}')
    end
  end
else
  local emoji, on, user = ARGV[10], ARGV[11] == '1', string.match(ARGV[8], '^,"user":{"id":(.*),$')
  user = cjson.decode(user)
  local reactions = state.reactions or {}
  local who = reactions[emoji]
  if on and not who then
    local n = 0
    for _ in pairs(reactions) do n = n + 1 end
    if n >= tonumber(ARGV[12]) then return {'', 4, '0', t} end
    who = {}
    reactions[emoji] = who
  end
  if who then
    local at
    for i, u in ipairs(who) do if u == user then at = i end end
    if on and not at then table.insert(who, user) end
    if not on and at then table.remove(who, at) end
    if #who == 0 then reactions[emoji] = nil end
  end
  state.reactions = next(reactions) and reactions or nil
end
local seq, prev = nextSeq(KEYS, floor, ttl)
local s = string.format('%d', seq)
redis.call('ZADD', KEYS[6], s, '{"seq":' .. s .. ',"targetSeq":' .. t .. ',' .. json)
local encoded = next(state) and cjson.encode(state)
redis.call('ZREMRANGEBYSCORE', KEYS[3], t, t)
if encoded then
  redis.call('HSET', KEYS[5], 'b:' .. t, base, 'o:' .. t, encoded)
  redis.call('ZADD', KEYS[3], t, string.sub(base, 1, -2) .. ',' .. string.sub(encoded, 2))
else
  redis.call('HDEL', KEYS[5], 'b:' .. t, 'o:' .. t)
  redis.call('ZADD', KEYS[3], t, base)
end
retain(KEYS, max, ttl, now, ARGV[13])
local ack = '{"seq":' .. s .. '}'
if ck then redis.call('SET', ck, ack, 'PX', ttl) end
return {ack, 0, string.format('%d', prev), t}
