-- KEYS[1] charge (by the charge's idempotency key), KEYS[2] ledger
-- Refunds a succeeded charge once; with no charge, voids the key so that a
-- later charge under it is refused.
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'succeeded' then
  redis.call('HSET', KEYS[1], 'status', 'refunded')
  redis.call('HINCRBY', KEYS[2], 'refunded_cents', redis.call('HGET', KEYS[1], 'amount_cents'))
  redis.call('HINCRBY', KEYS[2], 'refunds', 1)
  return {'refunded', redis.call('HGET', KEYS[1], 'id')}
end
if st == 'refunded' then return {'refunded', redis.call('HGET', KEYS[1], 'id')} end
if st == 'voided' then return {'voided', ''} end
redis.call('HSET', KEYS[1], 'status', 'voided')
return {'voided', ''}
