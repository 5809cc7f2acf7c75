-- The room's webhook counter, included with `--! include _hooks` (_room and append-message).
-- Numbers `n` webhook events of the room (when `on`): returns the first of them, or 0 when
-- webhooks are off. The counter is taken in the same step as the change, so the numbers are the
-- order Redis applied the room's changes in; it lives a day past the room's last event (a sender
-- forgets a room long before, so a counter that starts again is read as a new run).
local HOOK_TTL_MS = 86400000
local function hooks(key, on, n)
  if not on then return 0 end
  local last = redis.call('INCRBY', key, n)
  redis.call('PEXPIRE', key, HOOK_TTL_MS)
  return last - n + 1
end
