-- KEYS[1] reservation, KEYS[1+i] stock of the i-th SKU
-- ARGV[1] order id, ARGV[2i] i-th SKU, ARGV[2i+1] its quantity
-- All or nothing: every SKU is checked before any is changed.
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'compensated' or st == 'released' then return {'compensated'} end
if st then return {'exists', redis.call('HGET', KEYS[1], 'lines')} end
local n = #KEYS - 1
local prices = {}
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i + 1], 'available', 'price_cents')
  if not v[1] then return {'unknown', ARGV[2 * i]} end
  local want = tonumber(ARGV[2 * i + 1])
  if tonumber(v[1]) < want then return {'short', ARGV[2 * i], v[1], ARGV[2 * i + 1]} end
  prices[i] = tonumber(v[2]) or 0
end
local lines = {}
for i = 1, n do
  local qty = tonumber(ARGV[2 * i + 1])
  redis.call('HINCRBY', KEYS[i + 1], 'available', -qty)
  redis.call('HINCRBY', KEYS[i + 1], 'reserved', qty)
  lines[i] = {sku = ARGV[2 * i], quantity = qty, unit_price_cents = prices[i]}
end
local enc = cjson.encode(lines)
redis.call('HSET', KEYS[1], 'state', 'reserved', 'order_id', ARGV[1], 'lines', enc)
return {'reserved', enc}
