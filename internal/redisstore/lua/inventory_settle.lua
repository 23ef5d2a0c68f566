-- Release or commit a reservation.
-- KEYS[1] reservation, KEYS[1+i] stock of the reservation's i-th line
-- ARGV[1] 'release' or 'commit'
local st = redis.call('HGET', KEYS[1], 'state')
local release = ARGV[1] == 'release'
if not st then
  if release then
    -- Null compensation: remember it, so a late reservation is refused.
    redis.call('HSET', KEYS[1], 'state', 'compensated')
    return 'null'
  end
  return redis.error_reply('NOTFOUND no reservation under this key')
end
if release then
  if st == 'released' or st == 'compensated' then return 'noop' end
  if st == 'committed' then return redis.error_reply('CONFLICT reservation already committed') end
else
  if st == 'committed' then return 'noop' end
  if st ~= 'reserved' then return redis.error_reply('CONFLICT reservation was released') end
end
local lines = cjson.decode(redis.call('HGET', KEYS[1], 'lines'))
if #lines ~= #KEYS - 1 then return redis.error_reply('STALE reservation changed, retry') end
for i, l in ipairs(lines) do
  redis.call('HINCRBY', KEYS[i + 1], 'reserved', -l.quantity)
  if release then
    redis.call('HINCRBY', KEYS[i + 1], 'available', l.quantity)
  else
    redis.call('HINCRBY', KEYS[i + 1], 'committed', l.quantity)
  end
end
if release then st = 'released' else st = 'committed' end
redis.call('HSET', KEYS[1], 'state', st)
return st
