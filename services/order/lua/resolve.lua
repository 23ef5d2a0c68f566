-- KEYS[1] resolution record, KEYS[2] outbox stream
-- ARGV[1] resolution json, ARGV[2] saga.compensation_resolved event json
if redis.call('EXISTS', KEYS[1]) == 1 then return 'noop' end
redis.call('SET', KEYS[1], ARGV[1])
local ev = cjson.decode(ARGV[2])
redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', ARGV[2])
return 'recorded'
