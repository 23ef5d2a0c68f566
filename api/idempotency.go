package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/api/idempotency"
)

// Idempotency is what the API needs of the idempotency store.
type Idempotency interface {
	// Begin claims key for a request with fingerprint fp: a claim to run
	// it; the stored response to replay; or idempotency.ErrInFlight,
	// ErrMismatch, ErrUnavailable.
	Begin(ctx context.Context, scope, key, fp string) (*idempotency.Claim, *idempotency.Response, error)
	// Keep renews the claim's lease until ctx is done, calling failed on
	// each failure; it blocks.
	Keep(ctx context.Context, c *idempotency.Claim, failed func(error))
	// Complete stores the request's response.
	Complete(ctx context.Context, c *idempotency.Claim, resp idempotency.Response) error
	// Abort frees the claim's key after a failure the client may retry.
	Abort(ctx context.Context, c *idempotency.Claim) error
}

var _ Idempotency = (*idempotency.Store)(nil)

// IdempotencyKeyHeader is the request header of the IETF draft.
const IdempotencyKeyHeader = "Idempotency-Key"

// idempotent makes a write safe to retry with an Idempotency-Key: same key
// and body → the first response, replayed; same key, other body → 422; same
// key while the first is running → 409 (for at most one lease after the
// first died with its process); store down → 503 (fail closed).
// Keys are scoped per client. 5xx answers are not kept, so they can be
// retried.
func (s *server) idempotent(c *gin.Context) {
	key := c.GetHeader(IdempotencyKeyHeader)
	if key == "" || s.deps.Idempotency == nil {
		c.Next()
		return
	}
	if len(key) > 255 || !printable(key) {
		p := statusProblem(http.StatusBadRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters")
		p.Field = IdempotencyKeyHeader
		s.problem(c, p)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		s.fail(c, decodeProblem(err, s.cfg.MaxBodyBytes))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	scope, fp := principal(c).Name, idempotency.Fingerprint(c.Request.Method, c.Request.URL.Path, body)
	claim, stored, err := s.deps.Idempotency.Begin(c.Request.Context(), scope, key, fp)
	switch {
	case errors.Is(err, idempotency.ErrMismatch):
		s.problem(c, statusProblem(http.StatusUnprocessableEntity, err.Error()))
		return
	case errors.Is(err, idempotency.ErrInFlight):
		s.problem(c, statusProblem(http.StatusConflict, err.Error()))
		return
	case err != nil:
		s.deps.Log.Warn("idempotency store unavailable", "error", err)
		s.problem(c, statusProblem(http.StatusServiceUnavailable, "cannot check the Idempotency-Key now; retry later"))
		return
	case stored != nil:
		for k, v := range stored.Headers {
			c.Header(k, v)
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(stored.Status, stored.Headers["Content-Type"], stored.Body)
		c.Abort()
		return
	}
	s.runClaimed(c, claim)
}

// runClaimed runs the rest of the chain while claim holds the key, renewing
// its lease, and then stores the answer (or, for a 5xx, frees the key).
func (s *server) runClaimed(c *gin.Context, claim *idempotency.Claim) {
	rec := &recorder{ResponseWriter: c.Writer}
	c.Writer = rec
	// The request's context may be done by now; the record must still land.
	ctx := context.WithoutCancel(c.Request.Context())
	keepCtx, stopKeeping := context.WithCancel(ctx)
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		s.deps.Idempotency.Keep(keepCtx, claim, func(err error) {
			s.deps.Log.Warn("idempotency lease not renewed", "request_id", requestID(c), "error", err)
		})
	}()
	stop := func() {
		stopKeeping()
		<-kept
	}
	defer func() {
		if v := recover(); v != nil {
			// A handler panicked (answered 500 further out): free the key
			// at once for a retry, rather than when its lease lapses.
			stop()
			_ = s.deps.Idempotency.Abort(ctx, claim)
			panic(v)
		}
	}()
	c.Next()
	stop()
	status := rec.Status()
	if status >= 500 {
		_ = s.deps.Idempotency.Abort(ctx, claim)
		return
	}
	headers := map[string]string{}
	for _, h := range []string{"Content-Type", "Location", PreferenceAppliedHeader} {
		if v := rec.Header().Get(h); v != "" {
			headers[h] = v
		}
	}
	if err := s.deps.Idempotency.Complete(ctx, claim, idempotency.Response{Status: status, Headers: headers, Body: rec.body.Bytes()}); err != nil {
		s.deps.Log.Error("idempotency record not stored", "request_id", requestID(c), "error", err)
	}
}

// recorder keeps a copy of the response body.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
