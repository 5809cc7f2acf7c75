-- KEYS: the room's history, updates, seq and gen keys (one slot).
-- ARGV: sinceSeq ('' for none), how many messages, how many updates, the updates' byte budget.
-- What a join shows, read in one step: with sinceSeq the messages after it and the updates after
-- it, else the newest messages; and the counter, so whatever has a seq up to it is in the
-- snapshot or already reflected in the messages' state. The updates are read in pages and the
-- reading stops once those the ack would carry (the ones to messages at or before sinceSeq) pass
-- the byte budget: the ack leaves them all out then, and the gateway never holds more than about
-- a budget of them, however large the log's updates are.
-- Returns {messages, updates (as read), current seq or false, gen or false, 1 when the updates
-- the ack would carry passed the budget}.
local since, limit, updatesLimit, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local current, gen = redis.call('GET', KEYS[3]), redis.call('GET', KEYS[4])
if since == '' then
  return {redis.call('ZRANGE', KEYS[1], -limit, -1), {}, current, gen, 0}
end
local s = tonumber(since)
local history = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf', 'LIMIT', 0, limit)
local updates, bytes, page = {}, 0, 50
while #updates < updatesLimit do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf', 'LIMIT', #updates, math.min(page, updatesLimit - #updates))
  for _, u in ipairs(batch) do
    table.insert(updates, u)
    local target = tonumber(string.match(u, '^{"seq":%d+,"targetSeq":(%d+)'))
    if target and target <= s then
      bytes = bytes + string.len(u)
      if bytes > budget then return {history, updates, current, gen, 1} end
    end
  end
  if #batch < page then break end
end
return {history, updates, current, gen, 0}
