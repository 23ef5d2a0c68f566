-- KEYS[1] record (by idempotency key), KEYS[2] ledger
-- ARGV[1] token, ARGV[2] amount cents, ARGV[3] failures of tok_flaky, ARGV[4] new charge id
-- Returns {status, charge id, attempts}.
local st = redis.call('HGET', KEYS[1], 'status')
if redis.call('HGET', KEYS[1], 'kind') == 'authorization' then return {'in_use', '', 0} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if st == 'succeeded' then
  return {'succeeded', redis.call('HGET', KEYS[1], 'id'), attempts}
end
if st == 'declined' or st == 'voided' or st == 'refunded' then return {st, '', attempts} end
local token = ARGV[1]
if token == 'tok_flaky' and attempts <= tonumber(ARGV[3]) then return {'unavailable', '', attempts} end
if token ~= 'tok_ok' and token ~= 'tok_flaky' and token ~= 'tok_slow' then
  redis.call('HSET', KEYS[1], 'status', 'declined', 'token', token)
  return {'declined', '', attempts}
end
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'id', ARGV[4], 'amount_cents', ARGV[2], 'token', token)
redis.call('HINCRBY', KEYS[2], 'charged_cents', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'charges', 1)
return {'succeeded', ARGV[4], attempts}
