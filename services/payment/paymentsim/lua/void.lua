-- KEYS[1] record (by the authorization's idempotency key), KEYS[2] ledger
-- Releases an uncaptured authorization; with none under the key, voids the
-- key so that a later authorization (or charge) under it is refused. A
-- captured authorization is not voided (refund it): 'captured'.
-- Returns {status, authorization id, capture id, amount cents}.
local v = redis.call('HMGET', KEYS[1], 'status', 'kind', 'id', 'amount_cents', 'capture_id')
local st, kind = v[1], v[2]
if not st then
  redis.call('HSET', KEYS[1], 'status', 'voided')
  return {'voided', '', '', '0'}
end
if kind ~= 'authorization' then
  if st == 'voided' then return {'voided', '', '', '0'} end
  return {'in_use', '', '', '0'}
end
if st == 'authorized' then
  redis.call('HSET', KEYS[1], 'status', 'voided')
  redis.call('HINCRBY', KEYS[2], 'voided_cents', v[4])
  redis.call('HINCRBY', KEYS[2], 'voids', 1)
  return {'voided', v[3], '', v[4]}
end
if st == 'declined' then return {'declined', '', '', '0'} end
return {st, v[3] or '', v[5] or '', v[4] or '0'} -- voided, captured, refunded
