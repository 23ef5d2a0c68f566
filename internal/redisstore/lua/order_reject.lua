-- KEYS[1] barrier, KEYS[2] order
-- ARGV[1] reason
local b = redis.call('GET', KEYS[1])
if b == 'compensated' then return 'noop' end
redis.call('SET', KEYS[1], 'compensated')
if b == 'done' then
  redis.call('HSET', KEYS[2], 'status', 'REJECTED', 'reason', ARGV[1])
  return 'rejected'
end
return 'null'
