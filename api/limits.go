package api

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/api/ratelimit"
)

// Limiter is what the API needs of the per-client rate limiter.
type Limiter interface {
	// Allow takes cost units of p's quota for key, or refuses the request
	// taking none; errors are the store's.
	Allow(ctx context.Context, p ratelimit.Policy, key string, cost int) (ratelimit.Result, error)
}

var _ Limiter = (*ratelimit.Limiter)(nil)

// RateLimits are each client's request quotas, shared by the API's
// replicas (Deps.Limiter). A client is the principal its API key names; with
// auth off, the address the request came from.
type RateLimits struct {
	// WritesPerSecond refills a client's quota of writes (POST, PUT) of
	// WritesBurst requests; 0: writes are not limited.
	WritesPerSecond float64
	WritesBurst     int
	// ReadsPerSecond refills a client's quota of reads (GET) of ReadsBurst
	// units; 0: reads are not limited. A read takes one unit, a list
	// (GET /v1/orders, a visibility query) ListCost (default 10).
	ReadsPerSecond float64
	ReadsBurst     int
	ListCost       int
}

// Names of the policies in the RateLimit and RateLimit-Policy headers.
const (
	PolicyWrites = "writes"
	PolicyReads  = "reads"
)

// CodeRateLimited is the problem code (429) of a request over its client's
// quota.
const CodeRateLimited = "rate_limited"

func (l RateLimits) writes() ratelimit.Policy {
	return ratelimit.Policy{Name: PolicyWrites, Rate: l.WritesPerSecond, Burst: l.WritesBurst}
}

func (l RateLimits) reads() ratelimit.Policy {
	return ratelimit.Policy{Name: PolicyReads, Rate: l.ReadsPerSecond, Burst: l.ReadsBurst}
}

// Validate reports a quota that cannot be met (a burst below 1, or a list
// that costs more than the reads' burst).
func (l RateLimits) Validate() error {
	if err := l.writes().Validate(); err != nil {
		return err
	}
	if err := l.reads().Validate(); err != nil {
		return err
	}
	if l.ReadsPerSecond > 0 && l.listCost() > l.ReadsBurst {
		return fmt.Errorf("rate limit reads: a list costs %d units, more than the burst of %d", l.listCost(), l.ReadsBurst)
	}
	return nil
}

func (l RateLimits) listCost() int {
	if l.ListCost <= 0 {
		return 10
	}
	return l.ListCost
}

// clientKey is who a request is counted against, for rate limits and fair
// shares: the principal with auth on; with auth off (one principal,
// anonymous), or on a route whose Authorization the monolith checks, the
// peer's IP address — the connection's, never a header a client may forge.
func (s *server) clientKey(c *gin.Context) string {
	if _, identified := c.Get(principalKey); identified && s.cfg.Auth.Enabled() {
		return "client:" + principal(c).Name
	}
	host, _, err := net.SplitHostPort(c.Request.RemoteAddr)
	if err != nil {
		host = c.Request.RemoteAddr
	}
	return "ip:" + host
}

// limit refuses a request over its client's quota (see allow).
func (s *server) limit(c *gin.Context) {
	if s.allow(c) {
		c.Next()
	}
}

// allow reports whether the request is within its client's quota, or
// answers 429 rate_limited with Retry-After and the IETF RateLimit and
// RateLimit-Policy headers (draft-ietf-httpapi-ratelimit-headers) and
// reports false. When the limiter's store fails it admits (fails open) and
// logs, once until it answers again. A shadow call (UpstreamShadow) is not
// counted: its client's request was.
func (s *server) allow(c *gin.Context) bool {
	if route, ok := frontRoute(c); s.deps.Limiter == nil || ok && route.Upstream == UpstreamShadow {
		return true
	}
	p, cost := s.cfg.Limits.reads(), 1
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		if c.FullPath() == "/v1/orders" {
			cost = s.cfg.Limits.listCost()
		}
	default:
		p = s.cfg.Limits.writes()
	}
	if p.Rate <= 0 {
		return true
	}
	r, err := s.deps.Limiter.Allow(c.Request.Context(), p, s.clientKey(c), cost)
	if err != nil {
		if s.limiterFailing.CompareAndSwap(false, true) {
			s.deps.Log.Warn("rate limiter unavailable: admitting every request until it answers", "error", err)
		}
		return true
	}
	s.limiterFailing.Store(false)
	if r.Allowed {
		return true
	}
	retry := max(1, int(math.Ceil(r.RetryAfter.Seconds())))
	c.Header("Retry-After", strconv.Itoa(retry))
	c.Header("RateLimit-Policy", fmt.Sprintf("%q;q=%d;w=%d", p.Name, p.Burst, p.Window()))
	c.Header("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", p.Name, r.Remaining, max(retry, int(math.Ceil(r.Reset.Seconds())))))
	s.problem(c, codeProblem(http.StatusTooManyRequests, CodeRateLimited, fmt.Sprintf(
		"over this client's %s quota (%d at once, %g a second; this request takes %d): retry after %d s",
		p.Name, p.Burst, p.Rate, cost, retry)))
	return false
}
