package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// Approvals is what the per-client bound on orders awaiting approval needs.
type Approvals interface {
	// AwaitingApproval returns how many orders of client await an
	// approval, as Temporal's visibility counts them (eventually
	// consistent; it may be cached briefly).
	AwaitingApproval(ctx context.Context, client string) (int64, error)
}

// CodeTooManyAwaitingApproval is the problem code (429) of an order refused
// because its client already has Config.MaxAwaitingApproval orders
// awaiting approval.
const CodeTooManyAwaitingApproval = "too_many_awaiting_approval"

// approvalRetryAfter is what a client at its bound is told to wait: an
// approval is a person's decision, not a matter of seconds.
const approvalRetryAfter = time.Minute

// approvalQuota refuses a new order (429 too_many_awaiting_approval, with
// Retry-After) while its client has MaxAwaitingApproval orders or more
// awaiting approval, each of which holds its stock until it is approved,
// cancelled, or times out. The count is Temporal's visibility, eventually
// consistent: a burst may pass the bound by the orders placed within the
// count's cache time. When the count cannot be had it admits, and logs.
func (s *server) approvalQuota(c *gin.Context) {
	bound := s.cfg.MaxAwaitingApproval
	if bound <= 0 || s.deps.Approvals == nil {
		c.Next()
		return
	}
	who := principal(c)
	n, err := s.deps.Approvals.AwaitingApproval(c.Request.Context(), who.Name)
	if err != nil {
		s.deps.Log.Warn("orders awaiting approval not counted; admitting the order", "client", who.Name, "error", err)
		c.Next()
		return
	}
	if n < bound {
		c.Next()
		return
	}
	c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(approvalRetryAfter)))
	s.problem(c, codeProblem(http.StatusTooManyRequests, CodeTooManyAwaitingApproval, fmt.Sprintf(
		"%s has %d orders awaiting approval (bound %d): place more once some are approved or cancelled", who.Name, n, bound)))
}
