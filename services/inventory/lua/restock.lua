-- Set a SKU's available units and price (creating the SKU; reserved and
-- committed units are kept) and announce it.
-- KEYS[1] stock of the SKU, KEYS[2] outbox stream
-- ARGV[1] sku, ARGV[2] available, ARGV[3] price cents,
-- ARGV[4] inventory.restocked event json (id and data filled here)
-- Setting what is already there changes nothing and announces nothing.
local cur = redis.call('HMGET', KEYS[1], 'available', 'price_cents')
if cur[1] == ARGV[2] and cur[2] == ARGV[3] then return 'noop' end
-- Each change gets the next version of the SKU: the event's id.
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'available', ARGV[2], 'price_cents', ARGV[3])
redis.call('HSETNX', KEYS[1], 'reserved', 0)
redis.call('HSETNX', KEYS[1], 'committed', 0)
local ev = cjson.decode(ARGV[4])
ev.id = 'stock/' .. ARGV[1] .. '/' .. version .. '#' .. ev.type
ev.data = {sku = ARGV[1], available = tonumber(ARGV[2]), price_cents = tonumber(ARGV[3]),
  previous_available = tonumber(cur[1]) or 0, version = version}
redis.call('XADD', KEYS[2], '*', 'id', ev.id, 'type', ev.type, 'subject', ev.subject, 'wf', '', 'event', cjson.encode(ev))
return 'restocked'
