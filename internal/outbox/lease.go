package outbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	// errLeaseLost: the lease key holds another relay's token, or none.
	errLeaseLost = errors.New("outbox lease lost: it is no longer this relay's")
	// errLeaseUnconfirmed: no renewal was confirmed before the lease's
	// validity ran out.
	errLeaseUnconfirmed = errors.New("outbox lease not renewed in time")
)

// A lease is one acquisition of an outbox's lease. It is safe for concurrent
// use.
type lease struct {
	token string // the lease key's value: "<fence>:<owner>"
	fence int64  // the fencing token: greater than every earlier acquisition's

	mu      sync.Mutex
	until   time.Time     // the lease is known to be held until then
	renewed chan struct{} // closed, and replaced, when until moves
}

func newLease(token string, until time.Time) (*lease, error) {
	f, _, _ := strings.Cut(token, ":")
	fence, err := strconv.ParseInt(f, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("outbox lease %q: %w", token, err)
	}
	return &lease{token: token, fence: fence, until: until, renewed: make(chan struct{})}, nil
}

// left is how long the lease is known to be held from now.
func (l *lease) left() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(l.until)
}

// extend records that the lease is held until until.
func (l *lease) extend(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.until = until
	close(l.renewed)
	l.renewed = make(chan struct{})
}

// await returns nil once the lease is known to be held for at least d, or
// ctx's cause when ctx ends first.
func (l *lease) await(ctx context.Context, d time.Duration) error {
	for {
		l.mu.Lock()
		left, renewed := time.Until(l.until), l.renewed
		l.mu.Unlock()
		if left >= d {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-renewed:
		}
	}
}

// acquireScript takes the lease if it is free, with the next fencing token,
// and returns the lease key's new value; nil if the lease is taken.
// KEYS: lease, fence counter. ARGV: owner, TTL in ms.
var acquireScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
return token`)

// renewScript extends the lease if it still holds the token: 1, else 0.
// KEYS: lease. ARGV: token, TTL in ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// releaseScript deletes the lease if it still holds the token.
// KEYS: lease. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// deleteScript deletes stream entries if the lease still holds the token,
// and returns how many it deleted; it deletes nothing and returns -1 if the
// lease holds another token or none.
// KEYS: lease, stream. ARGV: token, entry IDs.
var deleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local n = 0
for i = 2, #ARGV, 1000 do
  n = n + redis.call('XDEL', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return n`)

func (r *Relay) leaseKey() string { return r.cfg.Stream + ":lease" }
func (r *Relay) fenceKey() string { return r.cfg.Stream + ":fence" }

// validity is how long after a renewal's (or acquisition's) start the lease
// is counted held.
func (r *Relay) validity() time.Duration { return r.cfg.LeaseTTL - r.cfg.LeaseMargin }

// acquire takes the outbox's lease if it is free; it returns nil, nil if
// another relay holds it.
func (r *Relay) acquire(ctx context.Context) (*lease, error) {
	start := time.Now()
	token, err := acquireScript.Run(ctx, r.rdb, []string{r.leaseKey(), r.fenceKey()}, r.owner, r.cfg.LeaseTTL.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("acquire the outbox lease: %w", err)
	}
	return newLease(token, start.Add(r.validity()))
}

// renew extends l in Redis; it reports false if l is no longer held.
func (r *Relay) renew(ctx context.Context, l *lease) (bool, error) {
	n, err := renewScript.Run(ctx, r.rdb, []string{r.leaseKey()}, l.token, r.cfg.LeaseTTL.Milliseconds()).Int()
	return n == 1, err
}

// keep renews l every LeaseTTL/3 until ctx ends, each confirmed renewal
// extending l to its start plus the validity. It calls lose, which must
// cancel ctx, with errLeaseLost when a renewal finds l gone, or with
// errLeaseUnconfirmed when l's validity runs out first — even while a
// renewal is still on its way.
func (r *Relay) keep(ctx context.Context, l *lease, lose context.CancelCauseFunc) {
	expire := time.AfterFunc(l.left(), func() { lose(errLeaseUnconfirmed) })
	defer expire.Stop()
	tick := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		ok, err := r.renew(ctx, l)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.log.Warn("outbox lease renewal failed", "error", err, "left", l.left())
			}
		case !ok:
			lose(errLeaseLost)
			return
		default:
			l.extend(start.Add(r.validity()))
			expire.Reset(l.left())
		}
	}
}

// release gives l up if it is still held, so a standby need not wait for it
// to expire. Call it only once nothing is being published under l.
func (r *Relay) release(ctx context.Context, l *lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := releaseScript.Run(ctx, r.rdb, []string{r.leaseKey()}, l.token).Err(); err != nil {
		r.log.Warn("release the outbox lease", "error", err)
	}
}

// deleteFenced deletes entries from the outbox, atomically with a check that
// l still holds; if it does not, it deletes nothing and returns errLeaseLost.
func (r *Relay) deleteFenced(ctx context.Context, l *lease, entries []redis.XMessage) error {
	args := make([]any, 0, 1+len(entries))
	args = append(args, l.token)
	for _, e := range entries {
		args = append(args, e.ID)
	}
	n, err := deleteScript.Run(ctx, r.rdb, []string{r.leaseKey(), r.cfg.Stream}, args...).Int()
	if err != nil {
		return fmt.Errorf("delete published entries: %w", err)
	}
	if n < 0 {
		return errLeaseLost
	}
	return nil
}
