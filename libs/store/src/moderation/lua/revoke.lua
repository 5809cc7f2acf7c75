-- A user's revocation time (KEYS[1]) moved on to ARGV[1] (ms since the epoch), never back:
-- two revokes at once leave the later time, whatever order they run in. Returns the time in
-- force.
local at = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur >= at then return tostring(cur) end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
