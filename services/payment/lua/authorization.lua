-- The life of an authorization (authorize before approval, capture after).
-- KEYS[1] payment (by the authorization's key), KEYS[2] outbox stream,
-- KEYS[3] the order's index (order id → the authorization's key)
-- ARGV[1] op: authorized | captured | releasing | released
-- ARGV[2] order id, ARGV[3] the authorization's key, ARGV[4] event json ('' for none)
-- authorized: ARGV[5] authorization id, ARGV[6] amount cents
-- captured:   ARGV[5] capture id, ARGV[6] amount cents, ARGV[7] authorization id
-- released:   ARGV[5] voided | refunded | declined, ARGV[6] capture id, ARGV[7] amount cents,
--             ARGV[8] authorization id (the provider's account, kept when not empty)
-- Amounts are kept as the strings they came as; the events are built by
-- the caller (exact integers) and appended as they are.
local st = redis.call('HGET', KEYS[1], 'state')
local op = ARGV[1]
local released = st == 'voiding' or st == 'voided' or st == 'refunding' or st == 'refunded'
local function index() redis.call('SET', KEYS[3], ARGV[3]) end
local function emit(json)
  if json == '' then return end
  local ev = cjson.decode(json)
  redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', json)
end
if op == 'authorized' then
  if released then return redis.error_reply('COMPENSATED release recorded first') end
  if st then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'authorized', 'order_id', ARGV[2], 'authorization_id', ARGV[5], 'amount_cents', ARGV[6])
  index()
  emit(ARGV[4])
elseif op == 'captured' then
  if released then return redis.error_reply('COMPENSATED release recorded first') end
  if st == 'captured' then return 'noop' end
  if st == 'declined' then return redis.error_reply('CONFLICT the authorization was declined') end
  redis.call('HSET', KEYS[1], 'state', 'captured', 'order_id', ARGV[2], 'charge_id', ARGV[5], 'amount_cents', ARGV[6],
    'authorization_id', ARGV[7])
  index()
  emit(ARGV[4])
elseif op == 'releasing' then
  if released or st == 'declined' then return 'noop' end
  if st == 'captured' then
    redis.call('HSET', KEYS[1], 'state', 'refunding')
  else
    redis.call('HSET', KEYS[1], 'state', 'voiding', 'order_id', ARGV[2])
    index()
  end
elseif op == 'released' then
  if st ~= 'voiding' and st ~= 'refunding' then return 'noop' end
  if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'authorization_id', ARGV[8], 'amount_cents', ARGV[7]) end
  if ARGV[5] == 'refunded' then
    redis.call('HSET', KEYS[1], 'state', 'refunded')
    if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'charge_id', ARGV[6]) end
  elseif ARGV[5] == 'declined' then
    redis.call('HSET', KEYS[1], 'state', 'declined')
  else
    redis.call('HSET', KEYS[1], 'state', 'voided')
  end
  emit(ARGV[4])
else
  return redis.error_reply('INVALID unknown op ' .. op)
end
return op
