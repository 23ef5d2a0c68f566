-- Release or commit a reservation.
-- KEYS[1] reservation, KEYS[2] outbox stream, KEYS[2+i] stock of the reservation's i-th line
-- ARGV[1] 'release' or 'commit', ARGV[2] inventory.released / inventory.committed event json (data filled here)
local st = redis.call('HGET', KEYS[1], 'state')
local release = ARGV[1] == 'release'
if not st then
  if release then
    -- Null compensation: remember it, so a late reservation is refused.
    redis.call('HSET', KEYS[1], 'state', 'compensated')
    return 'null'
  end
  return redis.error_reply('NOTFOUND no reservation under this key')
end
if release then
  if st == 'released' or st == 'compensated' then return 'noop' end
  if st == 'committed' then return redis.error_reply('CONFLICT reservation already committed') end
else
  if st == 'committed' then return 'noop' end
  if st ~= 'reserved' then return redis.error_reply('CONFLICT reservation was released') end
end
local raw = redis.call('HGET', KEYS[1], 'lines')
local lines = cjson.decode(raw)
if #lines ~= #KEYS - 2 then return redis.error_reply('STALE reservation changed, retry') end
-- The client's held units (reserve.lua) are no longer held either way.
local client = redis.call('HGET', KEYS[1], 'client')
for i, l in ipairs(lines) do
  redis.call('HINCRBY', KEYS[i + 2], 'reserved', -l.quantity)
  if client and client ~= '' then
    if redis.call('HINCRBY', KEYS[i + 2], 'held:' .. client, -l.quantity) <= 0 then
      redis.call('HDEL', KEYS[i + 2], 'held:' .. client)
    end
  end
  if release then
    redis.call('HINCRBY', KEYS[i + 2], 'available', l.quantity)
  else
    redis.call('HINCRBY', KEYS[i + 2], 'committed', l.quantity)
  end
end
if release then st = 'released' else st = 'committed' end
redis.call('HSET', KEYS[1], 'state', st)
local ev = cjson.decode(ARGV[2])
ev.data = {order_id = redis.call('HGET', KEYS[1], 'order_id'), lines = lines}
redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', cjson.encode(ev))
return st
