-- KEYS[1] record (by the authorization's idempotency key), KEYS[2] ledger
-- ARGV[1] new capture id
-- Captures an authorization's whole amount, once. Returns {status, capture
-- id, authorization id, amount cents}.
local v = redis.call('HMGET', KEYS[1], 'status', 'kind', 'id', 'amount_cents', 'capture_id')
local st, kind = v[1], v[2]
if not st then return {'missing', '', '', '0'} end
if kind ~= 'authorization' then
  if st == 'voided' then return {'voided', '', '', '0'} end
  return {'in_use', '', '', '0'}
end
if st == 'captured' then return {'captured', v[5], v[3], v[4]} end
if st ~= 'authorized' then return {st, '', v[3] or '', '0'} end -- declined, voided, refunded
redis.call('HSET', KEYS[1], 'status', 'captured', 'capture_id', ARGV[1])
redis.call('HINCRBY', KEYS[2], 'captured_cents', v[4])
redis.call('HINCRBY', KEYS[2], 'captures', 1)
return {'captured', ARGV[1], v[3], v[4]}
