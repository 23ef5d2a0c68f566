-- KEYS[1] payment
-- ARGV[1] new state: charged | declined | refunding | refunded
-- ARGV[2] order id, ARGV[3] charge id, ARGV[4] amount cents, ARGV[5] reason
local st = redis.call('HGET', KEYS[1], 'state')
local to = ARGV[1]
if to == 'charged' then
  if st == 'refunding' or st == 'refunded' then return redis.error_reply('COMPENSATED refund recorded first') end
  if st == 'charged' then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'charged', 'order_id', ARGV[2], 'charge_id', ARGV[3], 'amount_cents', ARGV[4])
elseif to == 'declined' then
  if st then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'declined', 'order_id', ARGV[2], 'reason', ARGV[5])
elseif to == 'refunding' then
  if st == 'refunding' or st == 'refunded' then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'refunding', 'order_id', ARGV[2])
elseif to == 'refunded' then
  if st == 'refunded' then return 'noop' end
  redis.call('HSET', KEYS[1], 'state', 'refunded')
else
  return redis.error_reply('INVALID unknown state ' .. to)
end
return to
