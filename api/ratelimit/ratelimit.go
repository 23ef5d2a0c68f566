// Package ratelimit limits how fast each client may call the API, in Redis
// so that every replica of the API shares one budget per client. It is the
// generic cell rate algorithm (GCRA): a quota of Burst units, refilled at
// Rate units a second, kept as one timestamp per client and policy, on
// Redis's clock (so the replicas' clocks do not matter).
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is a quota: Burst units at once, refilled at Rate units a second.
type Policy struct {
	// Name names the policy in the RateLimit and RateLimit-Policy headers.
	Name string
	// Rate is the sustained units a second; <= 0 means no limit.
	Rate float64
	// Burst is the units available at once (at least 1).
	Burst int
}

// Window is the policy's window in whole seconds, for RateLimit-Policy's w:
// the time in which the rate refills the whole burst, at least 1.
func (p Policy) Window() int {
	if p.Rate <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(float64(p.Burst)/p.Rate)))
}

// Validate reports a policy that cannot be enforced.
func (p Policy) Validate() error {
	if p.Rate > 0 && p.Burst < 1 {
		return fmt.Errorf("rate limit %s: the burst must be at least 1, got %d", p.Name, p.Burst)
	}
	return nil
}

// Result is the outcome of one request against a policy.
type Result struct {
	// Allowed is whether the request may run (its cost was taken).
	Allowed bool
	// Remaining is the units available now, after this request.
	Remaining int
	// RetryAfter, when refused, is how long until the request's cost is
	// available.
	RetryAfter time.Duration
	// Reset is how long until the whole burst is available again.
	Reset time.Duration
}

// Limiter enforces policies per key. It is safe for concurrent use.
type Limiter struct {
	rdb    redis.Cmdable
	prefix string
}

// New returns a Limiter keeping its state in rdb under prefix.
func New(rdb redis.Cmdable, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix}
}

// gcra takes ARGV[3] units from the quota of KEYS[1] (its theoretical
// arrival time, in microseconds of Redis's clock): ARGV[1] is the emission
// interval (microseconds a unit), ARGV[2] the burst. It answers {allowed,
// remaining, retry after µs, reset after µs}.
var gcra = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local tau = burst * interval
local new_tat = tat + cost * interval
local over = new_tat - tau - now
if over > 0 then
  return {0, math.floor((now + tau - tat) / interval), math.ceil(over), math.ceil(tat - now)}
end
new_tat = math.floor(new_tat)
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((now + tau - new_tat) / interval), 0, math.ceil(new_tat - now)}`)

// Allow takes cost units of p's quota for key, or refuses the request
// without taking any. A policy without a rate allows everything. Errors
// are Redis's: the caller decides whether to fail open.
func (l *Limiter) Allow(ctx context.Context, p Policy, key string, cost int) (Result, error) {
	if p.Rate <= 0 {
		return Result{Allowed: true, Remaining: p.Burst}, nil
	}
	interval := 1e6 / p.Rate
	out, err := gcra.Run(ctx, l.rdb, []string{l.prefix + p.Name + ":" + key}, interval, p.Burst, cost).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("rate limit %s: %w", p.Name, err)
	}
	if len(out) != 4 {
		return Result{}, errors.New("rate limit: unexpected answer from Redis")
	}
	return Result{
		Allowed:    out[0] == 1,
		Remaining:  max(0, int(out[1])),
		RetryAfter: time.Duration(out[2]) * time.Microsecond,
		Reset:      time.Duration(out[3]) * time.Microsecond,
	}, nil
}
