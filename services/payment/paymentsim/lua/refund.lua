-- KEYS[1] record (by the charge's or the authorization's idempotency key), KEYS[2] ledger
-- Refunds a succeeded charge or a captured authorization once; releases an
-- authorization not captured; with nothing under the key, voids it so that
-- a later charge or authorization under it is refused.
-- Returns {status, charge or capture id, authorization id, amount cents}.
local v = redis.call('HMGET', KEYS[1], 'status', 'kind', 'id', 'amount_cents', 'capture_id')
local st = v[1]
if v[2] == 'authorization' then
  if st == 'captured' then
    redis.call('HSET', KEYS[1], 'status', 'refunded')
    redis.call('HINCRBY', KEYS[2], 'refunded_cents', v[4])
    redis.call('HINCRBY', KEYS[2], 'refunds', 1)
    return {'refunded', v[5], v[3], v[4]}
  end
  if st == 'refunded' then return {'refunded', v[5], v[3], v[4]} end
  if st == 'authorized' then
    redis.call('HSET', KEYS[1], 'status', 'voided')
    redis.call('HINCRBY', KEYS[2], 'voided_cents', v[4])
    redis.call('HINCRBY', KEYS[2], 'voids', 1)
    return {'voided', '', v[3], v[4]}
  end
  if st == 'voided' then return {'voided', '', v[3] or '', v[4] or '0'} end
  return {'declined', '', '', '0'}
end
if st == 'succeeded' then
  redis.call('HSET', KEYS[1], 'status', 'refunded')
  redis.call('HINCRBY', KEYS[2], 'refunded_cents', v[4])
  redis.call('HINCRBY', KEYS[2], 'refunds', 1)
  return {'refunded', v[3], '', v[4]}
end
if st == 'refunded' then return {'refunded', v[3], '', v[4]} end
if st == 'voided' then return {'voided', '', '', '0'} end
redis.call('HSET', KEYS[1], 'status', 'voided')
return {'voided', '', '', '0'}
