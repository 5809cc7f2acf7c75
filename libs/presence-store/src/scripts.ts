/**
 * Lua scripts: each presence change is one atomic step, so concurrent gateways and presence
 * replicas never leave counts half-updated. Key names mirror keys.ts (ARGV[1] is the prefix).
 */
const LEAVE_FN = `
-- Private rooms are ranked apart, so a public answer never has to filter them out.
local function roomsKey(p, room)
  if string.sub(room, 1, 8) == 'private-' then return p..'private-rooms' end
  return p..'rooms'
end
-- Counts one connection of an instance in a room in both directions (inst:<i>:rooms and
-- room:<r>:insts); at 0 the field goes, and with the last field Redis drops the hash.
local function countInstance(p, inst, room, by)
  local ik, rik = p..'inst:'..inst..':rooms', p..'room:'..room..':insts'
  if redis.call('HINCRBY', ik, room, by) <= 0 then redis.call('HDEL', ik, room) end
  if redis.call('HINCRBY', rik, inst, by) <= 0 then redis.call('HDEL', rik, inst) end
end
local function leave(p, sid, inst, u, room)
  if redis.call('SREM', p..'conn:'..sid..':rooms', room) == 0 then return false end
  if redis.call('HINCRBY', p..'inst-memberships', inst, -1) <= 0 then redis.call('HDEL', p..'inst-memberships', inst) end
  countInstance(p, inst, room, -1)
  local rk = p..'room:'..room..':users'
  local n = redis.call('HINCRBY', rk, u, -1)
  -- room:<r>:members holds exactly the fields of room:<r>:users, in lexicographic order.
  if n <= 0 then
    redis.call('HDEL', rk, u)
    redis.call('ZREM', p..'room:'..room..':members', u)
  end
  if redis.call('HINCRBY', p..'room-conns', room, -1) <= 0 then redis.call('HDEL', p..'room-conns', room) end
  local users = redis.call('HLEN', rk)
  if users == 0 then redis.call('ZREM', roomsKey(p, room), room) else redis.call('ZADD', roomsKey(p, room), users, room) end
  return n <= 0
end
`;

const DISCONNECT_FN = `
${LEAVE_FN}
-- Removes one connection; appends to out a {room, userId, name} per room the user left for good.
local function disconnect(p, sid, out)
  local c = redis.call('HGET', p..'conns', sid)
  if not c then return end
  local conn = cjson.decode(c)
  local name = redis.call('HGET', p..'names', conn.u) or conn.u
  for _, room in ipairs(redis.call('SMEMBERS', p..'conn:'..sid..':rooms')) do
    if leave(p, sid, conn.i, conn.u, room) then
      table.insert(out, room); table.insert(out, conn.u); table.insert(out, name)
    end
  end
  redis.call('DEL', p..'conn:'..sid..':rooms')
  redis.call('HDEL', p..'conns', sid)
  redis.call('SREM', p..'inst:'..conn.i..':conns', sid)
  if redis.call('HINCRBY', p..'users', conn.u, -1) <= 0 then
    redis.call('HDEL', p..'users', conn.u)
    redis.call('HDEL', p..'names', conn.u)
  end
end
`;

/** ARGV: prefix, socketId, instanceId, userId, name, nowMs. Returns 1 if new. */
export const CONNECT = `
local p, sid, inst, u = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', p..'conns', sid) == 1 then return 0 end
redis.call('HSET', p..'conns', sid, cjson.encode({i = inst, u = u}))
redis.call('SADD', p..'inst:'..inst..':conns', sid)
redis.call('HINCRBY', p..'users', u, 1)
redis.call('HSET', p..'names', u, ARGV[5])
redis.call('ZADD', p..'instances-seen', 'NX', ARGV[6], inst)
return 1
`;

/** ARGV: prefix, socketId, room. Returns {userId, name} when the user is new in the room. */
export const JOIN = `
${LEAVE_FN}
local p, sid, room = ARGV[1], ARGV[2], ARGV[3]
local c = redis.call('HGET', p..'conns', sid)
if not c then return false end
if redis.call('SADD', p..'conn:'..sid..':rooms', room) == 0 then return false end
local conn = cjson.decode(c)
local u = conn.u
redis.call('HINCRBY', p..'inst-memberships', conn.i, 1)
countInstance(p, conn.i, room, 1)
local rk = p..'room:'..room..':users'
local n = redis.call('HINCRBY', rk, u, 1)
local mk = p..'room:'..room..':members'
if n == 1 then redis.call('ZADD', mk, 0, u) end
-- A room whose members predate room:<r>:members (or that drifted from room:<r>:users) gets it
-- rebuilt, once: both counts are O(1), the rebuild O(members).
if redis.call('ZCARD', mk) ~= redis.call('HLEN', rk) then
  redis.call('DEL', mk)
  local ids = redis.call('HKEYS', rk)
  for i = 1, #ids, 1000 do
    local batch = {}
    for j = i, math.min(i + 999, #ids) do table.insert(batch, 0); table.insert(batch, ids[j]) end
    redis.call('ZADD', mk, unpack(batch))
  end
end
redis.call('HINCRBY', p..'room-conns', room, 1)
redis.call('ZADD', roomsKey(p, room), redis.call('HLEN', rk), room)
if n == 1 then return {u, redis.call('HGET', p..'names', u) or u} end
return false
`;

/** ARGV: prefix, socketId, room. Returns {userId, name} when the user's last connection left. */
export const LEAVE = `
${LEAVE_FN}
local p, sid, room = ARGV[1], ARGV[2], ARGV[3]
local c = redis.call('HGET', p..'conns', sid)
if not c then return false end
local conn = cjson.decode(c)
local u = conn.u
if leave(p, sid, conn.i, u, room) then return {u, redis.call('HGET', p..'names', u) or u} end
return false
`;

/** ARGV: prefix, socketId. Returns a flat list room, userId, name per room left. */
export const DISCONNECT = `
${DISCONNECT_FN}
local out = {}
disconnect(ARGV[1], ARGV[2], out)
return out
`;

/** ARGV: prefix, instanceId. Drops the instance and all its connections; returns as DISCONNECT. */
export const REMOVE_INSTANCE = `
${DISCONNECT_FN}
local p, inst = ARGV[1], ARGV[2]
local out = {}
for _, sid in ipairs(redis.call('SMEMBERS', p..'inst:'..inst..':conns')) do
  disconnect(p, sid, out)
end
redis.call('DEL', p..'inst:'..inst..':conns')
-- Empty by now unless a count drifted: then the rooms must not keep naming this instance.
for _, room in ipairs(redis.call('HKEYS', p..'inst:'..inst..':rooms')) do
  redis.call('HDEL', p..'room:'..room..':insts', inst)
end
redis.call('DEL', p..'inst:'..inst..':rooms')
redis.call('HDEL', p..'inst-memberships', inst)
redis.call('HDEL', p..'instances', inst)
redis.call('ZREM', p..'instances-seen', inst)
return out
`;

/**
 * ARGV: prefix, room, message JSON without its opening brace, max retained, max age ms, now ms,
 * floor seq, client key ('' for none), message id, message ts.
 * Assigns the room's next seq and stores the message in one step, so history order is seq order.
 * A client key already set (a retried clientId) returns the first send's ack instead.
 *
 * A room without a counter (new, idle past retention, or lost when Redis restarted empty) starts
 * a new generation at Redis's clock in microseconds (and never below the floor: the last seq the
 * calling gateway delivered). A room would need a million messages a second for its whole life
 * to overtake the clock, so a new generation's seqs are above every seq any gateway or client
 * can hold from an earlier one: a seq is never reused for another message. (Seqs stay below
 * 2^53, exact in JSON and in Lua's doubles, until the year 2255; Lua's tostring would print them
 * with an exponent, so they are formatted with %d.)
 *
 * It never decodes a stored message (one that cjson cannot parse must not disable the room): the
 * age trim reads `"ts":` where only a key can stand (after `{` or `,`; inside a JSON string
 * every quote is escaped). Reads come first and nothing can fail after the first write.
 * Returns {ack JSON, 0, the seq before this one in its generation (0 for the first)}, or for a
 * retried clientId {the first ack JSON, 1, the generation's start ('-1' if unknown)}.
 */
export const APPEND_MESSAGE = `
local p, room, ck, ttl = ARGV[1], ARGV[2], ARGV[8], ARGV[5]
local sk, gk = p..'room:'..room..':seq', p..'room:'..room..':gen'
if ck ~= '' then
  local first = redis.call('GET', ck)
  if first then return {first, 1, redis.call('GET', gk) or '-1'} end
end
local hk = p..'room:'..room..':history'
local prev = tonumber(redis.call('GET', sk))
local floor = tonumber(ARGV[7])
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
redis.call('ZADD', hk, s, '{"seq":'..s..','..ARGV[3])
redis.call('ZREMRANGEBYRANK', hk, 0, -(tonumber(ARGV[4]) + 1))
local cutoff = tonumber(ARGV[6]) - tonumber(ttl)
for _ = 1, 100 do
  local oldest = redis.call('ZRANGE', hk, 0, 0)
  if #oldest == 0 then break end
  local ts = tonumber(string.match(oldest[1], '[{,]"ts":(%d+)'))
  if not ts or ts >= cutoff then break end
  redis.call('ZREMRANGEBYRANK', hk, 0, 0)
end
redis.call('PEXPIRE', hk, ttl)
local ack = '{"id":"'..ARGV[9]..'","seq":'..s..',"ts":'..ARGV[10]..'}'
if ck ~= '' then redis.call('SET', ck, ack, 'PX', ttl) end
return {ack, 0, string.format('%d', prev or 0)}
`;

/**
 * ARGV: prefix, instanceId. Counts the instance's memberships afresh from its connections' room
 * sets (after a sync, so a counter that drifted, or predates the counter, is right again).
 */
export const RECOUNT_MEMBERSHIPS = `
local p, inst = ARGV[1], ARGV[2]
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', p..'inst:'..inst..':conns')) do
  n = n + redis.call('SCARD', p..'conn:'..sid..':rooms')
end
if n > 0 then redis.call('HSET', p..'inst-memberships', inst, n) else redis.call('HDEL', p..'inst-memberships', inst) end
return n
`;
