-- KEYS: the room's log keys (_log.lua), then its update clientId key when the call has one.
-- ARGV: kind (edit, delete, react), update JSON without its opening brace, max retained, max age
--       ms, now ms, floor seq, message id, the author's mark (`,"user":{"id":<JSON id>,`), text
--       (edit), emoji (react), on ('1' or '0', react), max distinct reactions, read cursor ttl ms,
--       the change's fingerprint (kind, target and content), the caller's user id, how many
--       reactors a message names per emoji.
-- An edit, deletion or reaction change: checks that the message is retained (and not deleted)
-- and, for an edit or a deletion, that the caller wrote it; then gives the update the room's next
-- seq, stores it, and rewrites the stored message in its new state, in one step.
--
-- The stored message stays the JSON the gateway wrote, never decoded: its first version is kept
-- as `b:<seq>` in the edits hash and the history holds that text with what changed appended
-- (`o:<seq>`, JSON that cjson itself wrote), whose keys come later and so win in JSON.parse.
-- Every step is O(log n) in the room's log and independent of how many users reacted: `o:<seq>`
-- holds per emoji a count and the most recent reactors (bounded), the reactors ZSET holds them
-- all, and `l:<seq>` indexes the message's latest edit, the only one whose update keeps a text
-- (an edit's text is superseded by the next edit's, so a reader applying updates in seq order
-- ends in the same state; a deletion blanks the latest one: the text goes for good).
-- Returns {ack JSON, code, the seq before this one, the target's seq, the emoji's count (react)}:
-- code 0 done, 1 a retried clientId (the first ack), 2 no such message retained, 3 not the
-- author, 4 too many reactions, 5 the clientId was used for another change.
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

-- Rewrites the stored edit update at seq `us` with `tail` in place of its text (an edit's text
-- is its update's last field).
local function blankEdit(k, us, tail)
  local u = redis.call('ZRANGEBYSCORE', k[6], us, us)[1]
  local at = u and string.find(u, ',"kind":"edit","text":"', 1, true)
  if not at then return end
  redis.call('ZREMRANGEBYSCORE', k[6], us, us)
  redis.call('ZADD', k[6], us, string.sub(u, 1, at - 1) .. tail)
end

local ck = KEYS[LOG_KEYS + 1]
local kind, json, max, ttl, now, floor = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local fingerprint, caller, sample = ARGV[14], ARGV[15], tonumber(ARGV[16])
if ck then
  -- `<fingerprint>|<ack>`; an ack alone was stored before clientIds were bound to their change.
  local first = redis.call('GET', ck)
  if first then
    local fp, ack = string.match(first, '^([^{|]*)|({.*)$')
    if not fp then return {first, 1, '0', '0', 0} end
    if fp ~= fingerprint then return {'', 5, '0', '0', 0} end
    return {ack, 1, '0', '0', 0}
  end
end
local t = redis.call('HGET', KEYS[4], ARGV[7])
if not t then return {'', 2, '0', '0', 0} end
local stored = redis.call('ZRANGEBYSCORE', KEYS[3], t, t)[1]
local ts = stored and tonumber(string.match(stored, '[{,]"ts":(%d+)'))
if not ts or ts < now - tonumber(ttl) then return {'', 2, '0', t, 0} end
local base = redis.call('HGET', KEYS[5], 'b:' .. t) or stored
local raw = redis.call('HGET', KEYS[5], 'o:' .. t)
local state = raw and cjson.decode(raw) or {}
if state.deleted then return {'', 2, '0', t, 0} end
if kind ~= 'react' and not string.find(base, ARGV[8], 1, true) then return {'', 3, '0', t, 0} end
local latestEdit = redis.call('HGET', KEYS[5], 'l:' .. t)
local count = 0
if kind == 'edit' then
  state.text = ARGV[9]
  state.editedAt = now
  if latestEdit then blankEdit(KEYS, latestEdit, ',"kind":"edit"}') end
elseif kind == 'delete' then
  local edited = state.editedAt
  state = {deleted = true, text = ''}
  base = withoutText(base)
  if latestEdit then
    blankEdit(KEYS, latestEdit, ',"kind":"edit","text":""}')
  elseif edited then
    -- Edited before edits were indexed: its edits are found the old way, once.
    for _, u in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], '(' .. t, '+inf')) do
      if string.find(u, ',"targetSeq":' .. t .. ',', 1, true) then
        blankEdit(KEYS, string.match(u, '^{"seq":(%d+)'), ',"kind":"edit","text":""}')
      end
    end
  end
  redis.call('HDEL', KEYS[5], 'l:' .. t)
  local from, to = reactorRange(t)
  redis.call('ZREMRANGEBYLEX', KEYS[8], from, to)
else
  local emoji, on = ARGV[10], ARGV[11] == '1'
  local prefix = t .. ':' .. string.len(emoji) .. ':' .. emoji
  local member = prefix .. caller
  local has = redis.call('ZSCORE', KEYS[8], member)
  local reactions = state.reactions or {}
  local r = reactions[emoji]
  -- A message stored before reactions were counted holds a plain list of user ids.
  if r and r.count == nil then
    for _, u in ipairs(r) do redis.call('ZADD', KEYS[8], 0, prefix .. u) end
    has = redis.call('ZSCORE', KEYS[8], member)
    r = {count = #r, users = r}
  end
  if on and not has and not r then
    local n = 0
    for _ in pairs(reactions) do n = n + 1 end
    if n >= tonumber(ARGV[12]) then return {'', 4, '0', t, 0} end
    r = {count = 0, users = {}}
  end
  if on and not has then
    redis.call('ZADD', KEYS[8], 0, member)
    r.count = r.count + 1
    table.insert(r.users, caller)
    while #r.users > sample do table.remove(r.users, 1) end
  elseif not on and has then
    redis.call('ZREM', KEYS[8], member)
    r = r or {count = redis.call('ZLEXCOUNT', KEYS[8], '[' .. prefix, '[' .. prefix .. '\255') + 1, users = {}}
    r.count = r.count - 1
    for i = #r.users, 1, -1 do if r.users[i] == caller then table.remove(r.users, i) end end
    -- Keep the sample full while there are reactors to name (and never an empty list, which
    -- cjson would write as an object): older ones, in no particular order, go in front.
    local want = math.min(r.count, sample)
    if #r.users < want then
      local known = {}
      for _, u in ipairs(r.users) do known[u] = true end
      local more = redis.call('ZRANGEBYLEX', KEYS[8], '[' .. prefix, '[' .. prefix .. '\255', 'LIMIT', 0, sample * 2)
      for _, m in ipairs(more) do
        if #r.users >= want then break end
        local u = string.sub(m, string.len(prefix) + 1)
        if not known[u] then
          table.insert(r.users, 1, u)
          known[u] = true
        end
      end
    end
  end
  if r then while #r.users > sample do table.remove(r.users, 1) end end
  if r and r.count > 0 then reactions[emoji] = r else reactions[emoji] = nil end
  count = r and r.count or 0
  state.reactions = next(reactions) and reactions or nil
  -- The update tells the emoji's count: the client's copy needs no list to follow it.
  json = string.sub(json, 1, -2) .. ',"count":' .. count .. '}'
end
local seq, prev = nextSeq(KEYS, floor, ttl)
local s = string.format('%d', seq)
redis.call('ZADD', KEYS[6], s, '{"seq":' .. s .. ',"targetSeq":' .. t .. ',' .. json)
if kind == 'edit' then redis.call('HSET', KEYS[5], 'l:' .. t, s) end
local encoded = next(state) and cjson.encode(state)
redis.call('ZREMRANGEBYSCORE', KEYS[3], t, t)
if encoded then
  redis.call('HSET', KEYS[5], 'b:' .. t, base, 'o:' .. t, encoded)
  redis.call('ZADD', KEYS[3], t, string.sub(base, 1, -2) .. ',' .. string.sub(encoded, 2))
else
  redis.call('HDEL', KEYS[5], 'b:' .. t, 'o:' .. t)
  redis.call('ZADD', KEYS[3], t, base)
end
retain(KEYS, max, ttl, now, ARGV[13], true)
local ack = '{"seq":' .. s .. '}'
if ck then redis.call('SET', ck, fingerprint .. '|' .. ack, 'PX', ttl) end
return {ack, 0, string.format('%d', prev), t, count}
