-- KEYS[1] order, KEYS[2] outbox stream
-- ARGV[1] total cents, ARGV[2] charge id, ARGV[3] order.confirmed event json
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return redis.error_reply('NOTFOUND order does not exist') end
if st == 'REJECTED' then return redis.error_reply('CONFLICT order was rejected') end
if st == 'PENDING' then
  redis.call('HSET', KEYS[1], 'status', 'CONFIRMED', 'total_cents', ARGV[1], 'charge_id', ARGV[2])
  local ev = cjson.decode(ARGV[3])
  redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', ARGV[3])
  return 'confirmed'
end
return 'noop'
