// Package idempotency stores the outcome of requests made with an
// Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field") in
// Redis, so a retried request gets the first response instead of a second
// effect.
//
// A key lives in a scope (the client it belongs to) and is bound to the
// fingerprint of its first request. While that request runs the key is
// in flight; when it completes its response is kept for the retention
// period.
package idempotency

import (
	"context"
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
	Response    *Response `json:"response,omitempty"`
}

// Store keeps idempotency records in Redis under <prefix><scope>:<hash of key>.
type Store struct {
	rdb       redis.Cmdable
	prefix    string
	retention time.Duration
	lease     time.Duration
}

// NewStore returns a store keeping completed responses for retention and
// holding a key in flight for at most lease (after a crash mid-request the
// key frees itself).
func NewStore(rdb redis.Cmdable, prefix string, retention, lease time.Duration) *Store {
	return &Store{rdb: rdb, prefix: prefix, retention: retention, lease: lease}
}

var beginScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 'new'
end
return v`)

func (s *Store) key(scope, key string) string {
	h := sha256.Sum256([]byte(key))
	return s.prefix + scope + ":" + hex.EncodeToString(h[:16])
}

// Begin claims key in scope for a request with fingerprint fp. It returns
// (nil, nil) when the request should run, the stored response when the key
// already completed with the same fingerprint, or ErrInFlight, ErrMismatch
// or ErrUnavailable.
func (s *Store) Begin(ctx context.Context, scope, key, fp string) (*Response, error) {
	inflight, _ := json.Marshal(record{State: "in_flight", Fingerprint: fp})
	v, err := beginScript.Run(ctx, s.rdb, []string{s.key(scope, key)}, fp, inflight, s.lease.Milliseconds()).Text()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if v == "new" {
		return nil, nil
	}
	var rec record
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return nil, fmt.Errorf("%w: corrupt record: %v", ErrUnavailable, err)
	}
	switch {
	case rec.Fingerprint != fp:
		return nil, ErrMismatch
	case rec.State != "done" || rec.Response == nil:
		return nil, ErrInFlight
	}
	return rec.Response, nil
}

// Complete stores the response of the request that claimed key.
func (s *Store) Complete(ctx context.Context, scope, key, fp string, resp Response) error {
	raw, err := json.Marshal(record{State: "done", Fingerprint: fp, Response: &resp})
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, s.key(scope, key), raw, s.retention).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Abort frees key, so the request may be retried (after a 5xx answer).
func (s *Store) Abort(ctx context.Context, scope, key string) error {
	return s.rdb.Del(ctx, s.key(scope, key)).Err()
}

// Fingerprint identifies a request: method, path and body, byte for byte.
func Fingerprint(method, path string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
