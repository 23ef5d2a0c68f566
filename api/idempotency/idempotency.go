// Package idempotency stores the outcome of requests made with an
// Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field") in
// Redis, so a retried request gets the first response instead of a second
// effect.
//
// A key lives in a scope (the client it belongs to) and is bound to the
// fingerprint of its first request. While that request runs the key is
// in flight, held by a short lease that the request renews; when it
// completes its response is kept for the retention period. A request that
// dies with its process stops renewing: its key is free again within one
// lease.
package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors of Begin.
var (
	// ErrInFlight: the first request with this key has not finished.
	ErrInFlight = errors.New("a request with this idempotency key is still in progress")
	// ErrMismatch: the key was used for a different request.
	ErrMismatch = errors.New("this idempotency key was used for a different request")
	// ErrUnavailable: the store could not be reached; callers must not
	// proceed (fail closed).
	ErrUnavailable = errors.New("idempotency store unavailable")
)

// Response is a stored response.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body"`
}

type record struct {
	State       string    `json:"state"` // in_flight | done
	Fingerprint string    `json:"fp"`
	Owner       string    `json:"owner,omitempty"` // the claim's token, while in flight
	Response    *Response `json:"response,omitempty"`
}

// Store keeps idempotency records in Redis under <prefix><scope>:<hash of key>.
// It is safe for concurrent use.
type Store struct {
	rdb       redis.Cmdable
	prefix    string
	retention time.Duration
	lease     time.Duration
}

// DefaultLease is how long a key stays in flight without a renewal.
const DefaultLease = 10 * time.Second

// NewStore returns a store keeping completed responses for retention. A key
// is held in flight by a lease (DefaultLease when lease <= 0) that its
// request renews while it runs (Claim.Keep): after a crash mid-request the
// lease lapses within one lease, and a retry may run.
func NewStore(rdb redis.Cmdable, prefix string, retention, lease time.Duration) *Store {
	if lease <= 0 {
		lease = DefaultLease
	}
	return &Store{rdb: rdb, prefix: prefix, retention: retention, lease: lease}
}

// Lease is how long a claim holds its key without a renewal.
func (s *Store) Lease() time.Duration { return s.lease }

// Claim is a key held in flight by one request: renew it while the request
// runs, then Complete or Abort it.
type Claim struct {
	key, fp, token string
}

var beginScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'new'
end
return v`)

// renewScript extends the lease of a record still in flight under the
// claim's token (ARGV[1]); 1 if it did.
var renewScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local rec = cjson.decode(v)
if rec.state ~= 'in_flight' or rec.owner ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// abortScript deletes a record still in flight under the claim's token.
var abortScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local rec = cjson.decode(v)
if rec.state ~= 'in_flight' or rec.owner ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`)

func (s *Store) key(scope, key string) string {
	h := sha256.Sum256([]byte(key))
	return s.prefix + scope + ":" + hex.EncodeToString(h[:16])
}

// Begin claims key in scope for a request with fingerprint fp. It returns a
// claim when the request should run, the stored response when the key
// already completed with the same fingerprint, or ErrInFlight, ErrMismatch
// or ErrUnavailable.
func (s *Store) Begin(ctx context.Context, scope, key, fp string) (*Claim, *Response, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	c := &Claim{key: s.key(scope, key), fp: fp, token: hex.EncodeToString(b[:])}
	inflight, _ := json.Marshal(record{State: "in_flight", Fingerprint: fp, Owner: c.token})
	v, err := beginScript.Run(ctx, s.rdb, []string{c.key}, inflight, s.lease.Milliseconds()).Text()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if v == "new" {
		return c, nil, nil
	}
	var rec record
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return nil, nil, fmt.Errorf("%w: corrupt record: %v", ErrUnavailable, err)
	}
	switch {
	case rec.Fingerprint != fp:
		return nil, nil, ErrMismatch
	case rec.State != "done" || rec.Response == nil:
		return nil, nil, ErrInFlight
	}
	return nil, rec.Response, nil
}

// Renew extends c's lease by a whole lease; ErrInFlight when c no longer
// holds its key (its lease lapsed, and maybe another request claimed it).
func (s *Store) Renew(ctx context.Context, c *Claim) error {
	n, err := renewScript.Run(ctx, s.rdb, []string{c.key}, c.token, s.lease.Milliseconds()).Int()
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	case n == 0:
		return fmt.Errorf("the claim lapsed: %w", ErrInFlight)
	}
	return nil
}

// Keep renews c every third of a lease until ctx is done, so that c holds
// its key while its request runs however long; failures are passed to
// failed (the lease may then lapse). It blocks: run it in a goroutine.
func (s *Store) Keep(ctx context.Context, c *Claim, failed func(error)) {
	t := time.NewTicker(s.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, s.lease/3)
			err := s.Renew(rctx, c)
			cancel()
			if err != nil && ctx.Err() == nil {
				failed(err)
			}
		}
	}
}

// Complete stores the response of the request that claimed the key, kept
// for the retention period.
func (s *Store) Complete(ctx context.Context, c *Claim, resp Response) error {
	raw, err := json.Marshal(record{State: "done", Fingerprint: c.fp, Response: &resp})
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, c.key, raw, s.retention).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Abort frees c's key, so the request may be retried (after a 5xx
// answer); a key c no longer holds is left alone.
func (s *Store) Abort(ctx context.Context, c *Claim) error {
	return abortScript.Run(ctx, s.rdb, []string{c.key}, c.token).Err()
}

// Fingerprint identifies a request: method, path and body, byte for byte.
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
