package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// SagaAwaiter is what the API needs to answer an order at once. When
// Deps.Sagas implements it, POST /v1/orders honours Prefer: wait=N.
type SagaAwaiter interface {
	// StartAwait starts in's saga, or joins the running saga of its order
	// ID, and waits up to wait (within ctx) until step has an outcome: the
	// saga's state then, or, when the wait runs out first, not decided
	// (and no error: the saga runs on). A saga of that order ID that has
	// ended answers its final state.
	StartAwait(ctx context.Context, in workflows.Input, step string, wait time.Duration) (sagaclient.Awaited, error)
}

var _ SagaAwaiter = (*sagaclient.Client)(nil)

// StatusReserved is the status an order placed with Prefer: wait answers
// while its saga runs with its stock reserved (the saga says RUNNING).
const StatusReserved = "RESERVED"

// Problem codes of an order whose stock could not be reserved (answered to
// Prefer: wait).
const (
	CodeOutOfStock = "out_of_stock" // 409
	CodeHoldLimit  = "hold_limit"   // 409
	CodeUnknownSKU = "unknown_sku"  // 422
)

// OrderPlaced answers POST /v1/orders with Prefer: wait once the order's
// reservation has an outcome (201).
type OrderPlaced struct {
	OrderID    string `json:"order_id"`
	WorkflowID string `json:"workflow_id"`
	// Status is RESERVED while the saga runs with the stock reserved, the
	// saga's status otherwise (AWAITING_APPROVAL, COMPLETED, COMPENSATING,
	// …).
	Status string `json:"status"`
	// FailureReason says why the saga compensates, if it does.
	FailureReason string `json:"failure_reason,omitempty"`
}

// answerReserve is kept from a wait for what follows it: telling whether
// the saga started, and answering.
const answerReserve = 100 * time.Millisecond

// waitKey holds, in the gin context, when the wait of a request honouring
// Prefer: wait ends.
const waitKey = "ordersaga.prefer_wait_until"

// requestTimeout returns how long the request may run: Config's
// RequestTimeout, or, for an order placed with a wait preference that the
// API honours, at least the wait, which starts now.
func (s *server) requestTimeout(c *gin.Context) time.Duration {
	n := s.honouredWait(c)
	if n == 0 {
		return s.cfg.RequestTimeout
	}
	wait := time.Duration(n) * time.Second
	c.Set(waitKey, time.Now().Add(wait-answerReserve))
	return max(s.cfg.RequestTimeout, wait)
}

// honouredWait returns the wait preference, in seconds, that the request
// gets: that of a POST /v1/orders when Deps.Sagas can wait; else 0.
func (s *server) honouredWait(c *gin.Context) int {
	if c.Request.Method != http.MethodPost || c.FullPath() != "/v1/orders" {
		return 0
	}
	if _, ok := s.deps.Sagas.(SagaAwaiter); !ok {
		return 0
	}
	return waitPreference(c.Request.Header)
}

// placeAndAwait places in's order and answers when its reservation has an
// outcome (honouring Prefer: wait): 201 with the order's status, the
// reservation's refusal as a problem (409 out_of_stock or hold_limit, 422
// unknown_sku: the saga compensates as ever), or 202 when the wait runs
// out first. Each names the order (Location) and the wait honoured
// (Preference-Applied).
func (s *server) placeAndAwait(c *gin.Context, aw SagaAwaiter, in workflows.Input, items []ordersaga.Item) {
	n := waitPreference(c.Request.Header)
	v, _ := c.Get(waitKey)
	until, ok := v.(time.Time)
	if !ok {
		until = time.Now().Add(time.Duration(n)*time.Second - answerReserve)
	}
	got, err := aw.StartAwait(c.Request.Context(), in, workflows.StepReserveInventory, time.Until(until))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/orders/"+in.OrderID)
	c.Header(PreferenceAppliedHeader, "wait="+strconv.Itoa(n))
	id := workflows.WorkflowID(in.OrderID)
	if !got.Decided {
		c.JSON(http.StatusAccepted, OrderAccepted{OrderID: in.OrderID, WorkflowID: id, Status: workflows.StatusRunning})
		return
	}
	if r := refused(got.State); r != nil {
		s.problem(c, r.forItems(items))
		return
	}
	c.JSON(http.StatusCreated, OrderPlaced{OrderID: in.OrderID, WorkflowID: id, Status: placedStatus(got.State),
		FailureReason: got.State.FailureReason})
}

// placedStatus is the order's status at its reservation's outcome.
func placedStatus(st workflows.State) string {
	if r := st.Step(workflows.StepReserveInventory); st.Status == workflows.StatusRunning && r != nil && r.Status == workflows.StepCompleted {
		return StatusReserved
	}
	return string(st.Status)
}

// refusal is the inventory service's refusal of a reservation.
type refusal struct {
	status int
	code   string
	// reason is the service's words: `out of stock: sku "x" has 1
	// available, 2 requested`.
	reason string
}

// refused returns the refusal that failed st's reservation, if a business
// refusal did (the step's last error, else the saga's failure reason,
// names it).
func refused(st workflows.State) *refusal {
	r := st.Step(workflows.StepReserveInventory)
	if r == nil || r.LastError == "" && st.FailureReason == "" {
		return nil
	}
	switch r.Status {
	case workflows.StepPending, workflows.StepRunning, workflows.StepCompleted, workflows.StepSkipped:
		return nil
	}
	reason := r.LastError
	if reason == "" {
		reason = st.FailureReason
	}
	for _, k := range []struct {
		typ    string
		err    error
		status int
		code   string
	}{
		{activities.ErrOutOfStock, ordersaga.ErrOutOfStock, http.StatusConflict, CodeOutOfStock},
		{activities.ErrHoldLimit, ordersaga.ErrHoldLimit, http.StatusConflict, CodeHoldLimit},
		{activities.ErrUnknownSKU, ordersaga.ErrUnknownSKU, http.StatusUnprocessableEntity, CodeUnknownSKU},
	} {
		// The step's error type where the saga recorded it; the service's
		// words in sagas that predate it.
		if r.ErrorType == k.typ || r.ErrorType == "" && strings.Contains(reason, k.err.Error()) {
			return &refusal{status: k.status, code: k.code, reason: reason}
		}
	}
	return nil
}

// forItems is the refusal as a problem, naming the order's line whose SKU
// the service named (field items[i].sku), if it did.
func (r *refusal) forItems(items []ordersaga.Item) *Problem {
	p := codeProblem(r.status, r.code, fmt.Sprintf(
		"the order's stock cannot be reserved: %s; the order is not placed (its saga undoes what it did; see Location)", r.reason))
	for i, it := range items {
		if strings.Contains(r.reason, strconv.Quote(it.SKU)) {
			p.Field = fieldf("items[%d].sku", i)
			break
		}
	}
	return p
}
