-- KEYS[1] barrier, KEYS[2] order, KEYS[3] outbox stream
-- ARGV[1] order id, ARGV[2] customer id, ARGV[3] items json, ARGV[4] order.created event json
local b = redis.call('GET', KEYS[1])
if b == 'compensated' then return 'compensated' end
if b then return 'exists' end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'customer_id', ARGV[2], 'items', ARGV[3], 'status', 'PENDING')
redis.call('SET', KEYS[1], 'done')
local ev = cjson.decode(ARGV[4])
redis.call('XADD', KEYS[3], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', ARGV[4])
return 'created'
