-- KEYS[1] order
-- ARGV[1] total cents, ARGV[2] charge id
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return redis.error_reply('NOTFOUND order does not exist') end
if st == 'REJECTED' then return redis.error_reply('CONFLICT order was rejected') end
if st == 'PENDING' then
  redis.call('HSET', KEYS[1], 'status', 'CONFIRMED', 'total_cents', ARGV[1], 'charge_id', ARGV[2])
  return 'confirmed'
end
return 'noop'
