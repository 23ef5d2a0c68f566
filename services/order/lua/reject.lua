-- KEYS[1] barrier, KEYS[2] order, KEYS[3] outbox stream
-- ARGV[1] reason, ARGV[2] order.cancelled event json
local b = redis.call('GET', KEYS[1])
if b == 'compensated' then return 'noop' end
redis.call('SET', KEYS[1], 'compensated')
if b == 'done' then
  redis.call('HSET', KEYS[2], 'status', 'REJECTED', 'reason', ARGV[1])
  local ev = cjson.decode(ARGV[2])
  redis.call('XADD', KEYS[3], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', ARGV[2])
  return 'rejected'
end
return 'null'
