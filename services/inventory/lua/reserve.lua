-- KEYS[1] reservation, KEYS[2] outbox stream, KEYS[3] the order's index
-- (order id → step key), KEYS[3+i] stock of the i-th SKU
-- ARGV[1] order id, ARGV[2] inventory.reserved event json (data filled here),
-- ARGV[3] step key, ARGV[4] client id ('' for none: no hold bound),
-- ARGV[5] hold share in percent (100: no bound), ARGV[6] largest total in cents,
-- ARGV[5+2i] i-th SKU, ARGV[6+2i] its quantity
-- All or nothing: every SKU is checked before any is changed.
-- Numbers here are doubles: every product and sum stays an integer below
-- the largest total (< 10^14 < 2^53), so all of them are exact, and cjson
-- (14 significant digits) encodes them exactly.
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'compensated' or st == 'released' then return {'compensated'} end
if st then return {'exists', redis.call('HGET', KEYS[1], 'lines')} end
local n = #KEYS - 3
local client, share, max = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local bounded = client ~= '' and share < 100
local held = 'held:' .. client
local prices = {}
local total = 0
for i = 1, n do
  local sku, qty = ARGV[5 + 2 * i], tonumber(ARGV[6 + 2 * i])
  local v = redis.call('HMGET', KEYS[i + 3], 'available', 'reserved', 'price_cents', held)
  if not v[1] then return {'unknown', sku} end
  local available = tonumber(v[1])
  if available < qty then return {'short', sku, v[1], ARGV[6 + 2 * i]} end
  if bounded then
    -- The client may hold at most its share of the units not yet sold
    -- (available + reserved), and always at least one.
    local stock = available + (tonumber(v[2]) or 0)
    local limit = math.max(1, math.floor(stock * share / 100))
    local has = tonumber(v[4]) or 0
    if has + qty > limit then
      return {'hold', sku, string.format('%d', has), ARGV[6 + 2 * i], string.format('%d', limit), string.format('%d', stock)}
    end
  end
  prices[i] = tonumber(v[3]) or 0
  if qty * prices[i] > max - total then return {'too_large', sku} end
  total = total + qty * prices[i]
end
local lines = {}
for i = 1, n do
  local qty = tonumber(ARGV[6 + 2 * i])
  redis.call('HINCRBY', KEYS[i + 3], 'available', -qty)
  redis.call('HINCRBY', KEYS[i + 3], 'reserved', qty)
  if client ~= '' then redis.call('HINCRBY', KEYS[i + 3], held, qty) end
  lines[i] = {sku = ARGV[5 + 2 * i], quantity = qty, unit_price_cents = prices[i]}
end
local enc = cjson.encode(lines)
redis.call('HSET', KEYS[1], 'state', 'reserved', 'order_id', ARGV[1], 'lines', enc, 'client', client)
redis.call('SET', KEYS[3], ARGV[3])
local ev = cjson.decode(ARGV[2])
ev.data = {order_id = ARGV[1], lines = lines, total_cents = total}
redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', ev.workflowid, 'event', cjson.encode(ev))
return {'reserved', enc}
