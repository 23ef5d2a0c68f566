-- KEYS[1] barrier, KEYS[2] order
-- ARGV[1] order id, ARGV[2] customer id, ARGV[3] items json
local b = redis.call('GET', KEYS[1])
if b == 'compensated' then return 'compensated' end
if b then return 'exists' end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'customer_id', ARGV[2], 'items', ARGV[3], 'status', 'PENDING')
redis.call('SET', KEYS[1], 'done')
return 'created'
