-- KEYS[1] record (by idempotency key), KEYS[2] ledger
-- ARGV[1] token, ARGV[2] amount cents, ARGV[3] failures of tok_flaky, ARGV[4] new authorization id
-- Holds the amount on the card once per key. Returns {status, authorization
-- id, attempts, amount cents}; amounts stay strings (Redis integers).
local v = redis.call('HMGET', KEYS[1], 'status', 'kind', 'id', 'amount_cents')
local st, kind = v[1], v[2]
if st and kind ~= 'authorization' then
  if st == 'voided' then return {'voided', '', 0, '0'} end -- voided before any authorization
  return {'in_use', '', 0, '0'}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if st == 'authorized' or st == 'captured' then return {st, v[3], attempts, v[4]} end
if st then return {st, '', attempts, '0'} end -- declined, voided, refunded
local token = ARGV[1]
if token == 'tok_flaky' and attempts <= tonumber(ARGV[3]) then return {'unavailable', '', attempts, '0'} end
if token ~= 'tok_ok' and token ~= 'tok_flaky' and token ~= 'tok_slow' then
  redis.call('HSET', KEYS[1], 'status', 'declined', 'kind', 'authorization', 'token', token)
  return {'declined', '', attempts, '0'}
end
redis.call('HSET', KEYS[1], 'status', 'authorized', 'kind', 'authorization', 'id', ARGV[4], 'amount_cents', ARGV[2], 'token', token)
redis.call('HINCRBY', KEYS[2], 'authorized_cents', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'authorizations', 1)
return {'authorized', ARGV[4], attempts, ARGV[2]}
