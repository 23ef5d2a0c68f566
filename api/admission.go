package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/api/backlog"
	"github.com/ordersaga/ordersaga/api/fairshare"
)

// Backlog is what admission control needs to know: how far behind the
// sagas are, and which services have no workers.
type Backlog interface {
	// BacklogAge returns the age of the oldest saga task waiting for a
	// worker on a queue whose workers are there (overload), as last
	// sampled, and false when it is not known. It must not block: it reads
	// a sample taken in the background.
	BacklogAge() (time.Duration, bool)
	// Services returns each service's waiting tasks and whether it has no
	// workers, as last sampled; false when not known. It must not block.
	Services() ([]backlog.ServiceState, bool)
}

var _ Backlog = (*backlog.Sampler)(nil)

// Shares is what fair-share admission needs: each client's orders admitted
// over a recent window, as every replica of the API counts them.
type Shares interface {
	// Admitted counts one admitted order of client.
	Admitted(ctx context.Context, client string) error
	// Share returns client's share of the admitted orders.
	Share(ctx context.Context, client string) (fairshare.Share, error)
}

var _ Shares = (*fairshare.Shares)(nil)

// Admission configures admission control of new orders.
type Admission struct {
	// MaxBacklogAge is the bound: while the oldest saga task waiting for a
	// worker that is there is at least this old, the sagas are overloaded
	// and POST /v1/orders admits only the clients below their fair share
	// (with Deps.Shares; none without), answering the others 429. Zero
	// turns admission control off.
	MaxBacklogAge time.Duration
	// RetryAfter is what a refused client is told to wait (whole seconds,
	// at least 1; default 1s).
	RetryAfter time.Duration
	// MaxWaitingOnMissing bounds the tasks that may wait on a service with
	// no workers (stopped, crashed, between deploys): below it new orders
	// are still accepted, and complete when the service is back; at it
	// they are refused 503 service_missing. Zero refuses them at once.
	MaxWaitingOnMissing int64
}

// Problem codes of admission control.
const (
	// CodeOverloaded: the sagas are behind and the client is at or above
	// its fair share (429).
	CodeOverloaded = "overloaded"
	// CodeServiceMissing: a service has no workers and as many tasks as
	// admission allows already wait on it (503).
	CodeServiceMissing = "service_missing"
)

// admit guards new orders. A service with no workers and
// MaxWaitingOnMissing tasks waiting on it refuses them 503 service_missing
// (naming it). Overload — the sagas behind by MaxBacklogAge or more on
// queues whose workers are there — refuses them 429 overloaded, with
// Retry-After, unless the client's share of the recently admitted orders
// is below its fair share (1/N of the N clients admitted recently): a
// client flooding orders is shed before a polite one. When the backlog is
// not known (no Backlog, or no fresh sample) it admits: Temporal answers
// for itself then. Admitted orders whose saga started (the answer names
// the order: Location) are counted to the client's share.
func (s *server) admit(c *gin.Context) {
	limit := s.cfg.Admission.MaxBacklogAge
	if limit <= 0 || s.deps.Backlog == nil {
		c.Next()
		return
	}
	if missing, ok := s.missingService(); ok {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(max(s.cfg.Admission.RetryAfter, 5*time.Second))))
		s.problem(c, codeProblem(http.StatusServiceUnavailable, CodeServiceMissing, missing))
		return
	}
	key := s.clientKey(c)
	if age, ok := s.deps.Backlog.BacklogAge(); ok && age >= limit && !s.belowFairShare(c.Request.Context(), key) {
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(s.cfg.Admission.RetryAfter)))
		s.problem(c, codeProblem(http.StatusTooManyRequests, CodeOverloaded, fmt.Sprintf(
			"too many orders in progress: the sagas are %s behind (bound %s) and this client has at least its fair share of the orders admitted lately; place the order again after Retry-After",
			age.Round(time.Millisecond), limit)))
		return
	}
	c.Next()
	if s.deps.Shares != nil && c.Writer.Header().Get("Location") != "" { // an answer naming the order: admitted
		s.sharesFailed(s.deps.Shares.Admitted(context.WithoutCancel(c.Request.Context()), key))
	}
}

// missingService describes the services with no workers on which
// MaxWaitingOnMissing tasks or more wait, and reports whether there are.
func (s *server) missingService() (string, bool) {
	services, ok := s.deps.Backlog.Services()
	if !ok {
		return "", false
	}
	var full []string
	for _, st := range services {
		if st.Missing && st.Waiting >= s.cfg.Admission.MaxWaitingOnMissing {
			full = append(full, fmt.Sprintf("%s (%d tasks waiting)", st.Service, st.Waiting))
		}
	}
	if len(full) == 0 {
		return "", false
	}
	return fmt.Sprintf("no workers run the %s service, and as many orders as may wait for it already do (bound %d); place the order again after Retry-After",
		strings.Join(full, ", "), s.cfg.Admission.MaxWaitingOnMissing), true
}

// belowFairShare reports whether key's share of the orders admitted lately
// is below the fair one; without Shares, or when they cannot be read,
// false (the old rule: under overload, shed every client).
func (s *server) belowFairShare(ctx context.Context, key string) bool {
	if s.deps.Shares == nil {
		return false
	}
	share, err := s.deps.Shares.Share(ctx, key)
	s.sharesFailed(err)
	return err == nil && share.Below()
}

// sharesFailed logs a failure of the fair shares' store, once until it
// answers again.
func (s *server) sharesFailed(err error) {
	if err == nil {
		s.sharesFailing.Store(false)
		return
	}
	if s.sharesFailing.CompareAndSwap(false, true) {
		s.deps.Log.Warn("fair shares unavailable: under overload every client is shed until they answer", "error", err)
	}
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
