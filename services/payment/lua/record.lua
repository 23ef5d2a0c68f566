-- KEYS[1] payment, KEYS[2] outbox stream, KEYS[3] the order's index (order id → step key)
-- ARGV[1] new state: charged | declined | refunding | refunded
-- ARGV[2] order id, ARGV[3] charge id, ARGV[4] amount cents, ARGV[5] reason,
-- ARGV[6] event json for charged / declined / refunded,
-- ARGV[7] step key
local st = redis.call('HGET', KEYS[1], 'state')
local to = ARGV[1]
-- A payment record naming its order is found by the order's id.
local function index() redis.call('SET', KEYS[3], ARGV[7]) end
local function emit(json)
  local ev = cjson.decode(json)
  redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', json)
end
if to == 'charged' then
  if st == 'refunding' or st == 'refunded' then return redis.error_reply('COMPENSATED refund recorded first') end
  if st == 'charged' then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'charged', 'order_id', ARGV[2], 'charge_id', ARGV[3], 'amount_cents', ARGV[4])
  index()
  emit(ARGV[6])
elseif to == 'declined' then
  if st then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'declined', 'order_id', ARGV[2], 'reason', ARGV[5])
  index()
  emit(ARGV[6])
elseif to == 'refunding' then
  if st == 'refunding' or st == 'refunded' then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'refunding', 'order_id', ARGV[2])
  index()
elseif to == 'refunded' then
  if st == 'refunded' then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'refunded')
  -- Only a charge that happened is refunded; a voided key emits nothing.
  -- The caller built the event from the charge (frozen since refunding).
  if redis.call('HEXISTS', KEYS[1], 'charge_id') == 1 then emit(ARGV[6]) end
else
  return redis.error_reply('INVALID unknown state ' .. to)
end
return to
