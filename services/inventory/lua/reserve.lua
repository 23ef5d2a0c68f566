-- KEYS[1] reservation, KEYS[2] outbox stream, KEYS[3] the order's index
-- (order id → step key), KEYS[3+i] stock of the i-th SKU
-- ARGV[1] order id, ARGV[2] inventory.reserved event json (data filled here),
-- ARGV[3] step key, ARGV[2+2i] i-th SKU, ARGV[3+2i] its quantity
-- All or nothing: every SKU is checked before any is changed.
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'compensated' or st == 'released' then return {'compensated'} end
if st then return {'exists', redis.call('HGET', KEYS[1], 'lines')} end
local n = #KEYS - 3
local prices = {}
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i + 3], 'available', 'price_cents')
  if not v[1] then return {'unknown', ARGV[2 + 2 * i]} end
  if tonumber(v[1]) < tonumber(ARGV[3 + 2 * i]) then return {'short', ARGV[2 + 2 * i], v[1], ARGV[3 + 2 * i]} end
  prices[i] = tonumber(v[2]) or 0
end
local lines = {}
local total = 0
for i = 1, n do
  local qty = tonumber(ARGV[3 + 2 * i])
  redis.call('HINCRBY', KEYS[i + 3], 'available', -qty)
  redis.call('HINCRBY', KEYS[i + 3], 'reserved', qty)
  lines[i] = {sku = ARGV[2 + 2 * i], quantity = qty, unit_price_cents = prices[i]}
  total = total + qty * prices[i]
end
local enc = cjson.encode(lines)
redis.call('HSET', KEYS[1], 'state', 'reserved', 'order_id', ARGV[1], 'lines', enc)
redis.call('SET', KEYS[3], ARGV[3])
local ev = cjson.decode(ARGV[2])
ev.data = {order_id = ARGV[1], lines = lines, total_cents = total}
redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', cjson.encode(ev))
return {'reserved', enc}
