package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Backlog is what admission control needs to know: how far behind the
// sagas are.
type Backlog interface {
	// BacklogAge returns the age of the oldest saga task waiting for a
	// worker, as last sampled, and false when it is not known. It must not
	// block: it reads a sample taken in the background.
	BacklogAge() (time.Duration, bool)
}

// Admission configures admission control of new orders.
type Admission struct {
	// MaxBacklogAge is the bound: while the oldest saga task waiting for a
	// worker is at least this old, POST /v1/orders answers 429. Zero turns
	// admission control off.
	MaxBacklogAge time.Duration
	// RetryAfter is what a refused client is told to wait (whole seconds,
	// at least 1; default 1s).
	RetryAfter time.Duration
}

// CodeOverloaded is the problem code of an order refused by admission
// control (HTTP 429).
const CodeOverloaded = "overloaded"

// admit refuses a new order with 429 and Retry-After while the sagas
// already accepted are behind by MaxBacklogAge or more, so that those keep
// their latency; the client may place the order again later. When the
// backlog is not known (no Backlog, or no fresh sample) it admits: Temporal
// answers for itself then.
func (s *server) admit(c *gin.Context) {
	limit := s.cfg.Admission.MaxBacklogAge
	if limit <= 0 || s.deps.Backlog == nil {
		c.Next()
		return
	}
	age, ok := s.deps.Backlog.BacklogAge()
	if !ok || age < limit {
		c.Next()
		return
	}
	c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(s.cfg.Admission.RetryAfter)))
	s.problem(c, statusProblem(http.StatusTooManyRequests,
		fmt.Sprintf("too many orders in progress: the sagas are %s behind (bound %s); place the order again after Retry-After",
			age.Round(time.Millisecond), limit)))
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
