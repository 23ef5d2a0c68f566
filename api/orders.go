package api

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/workflows"
)

// CreateOrderRequest is the body of POST /v1/orders.
type CreateOrderRequest struct {
	CustomerID   string           `json:"customer_id"`
	Items        []ordersaga.Item `json:"items"`
	PaymentToken string           `json:"payment_token"`
}

// Validate reports every invalid field.
func (r CreateOrderRequest) Validate() error {
	var v validation
	v.id("customer_id", r.CustomerID)
	switch {
	case len(r.Items) == 0:
		v.add("items", "items must hold at least one line")
	case len(r.Items) > maxLines:
		v.add("items", "items must hold at most %d lines, got %d", maxLines, len(r.Items))
	default:
		for i, it := range r.Items {
			v.id(fieldf("items[%d].sku", i), it.SKU)
			v.intRange(fieldf("items[%d].quantity", i), it.Quantity, 1, maxQuantity)
		}
	}
	v.id("payment_token", r.PaymentToken)
	return v.problem()
}

// OrderAccepted answers POST /v1/orders.
type OrderAccepted struct {
	OrderID    string           `json:"order_id"`
	WorkflowID string           `json:"workflow_id"`
	Status     workflows.Status `json:"status"`
}

func (s *server) createOrder(c *gin.Context) {
	var req CreateOrderRequest
	if !s.bind(c, &req) {
		return
	}
	who := principal(c)
	orderID, err := newOrderID(who.Name, c.GetHeader(IdempotencyKeyHeader), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	in := workflows.Input{OrderID: orderID, ClientID: who.Name, CustomerID: req.CustomerID, Items: req.Items, PaymentToken: req.PaymentToken}
	if aw, ok := s.deps.Sagas.(SagaAwaiter); ok && s.honouredWait(c) > 0 {
		s.placeAndAwait(c, aw, in, req.Items)
		return
	}
	status := workflows.StatusRunning
	if err := s.deps.Sagas.Start(c.Request.Context(), in); err != nil {
		// With an Idempotency-Key the order ID derives from the key and
		// the order: a saga that exists already is this request's,
		// started by a first attempt whose record was lost (or expired).
		if !(ordersaga.ErrorCode(err) == ordersaga.ECONFLICT && c.GetHeader(IdempotencyKeyHeader) != "") {
			s.fail(c, err)
			return
		}
		if st, err := s.deps.Sagas.State(c.Request.Context(), orderID); err == nil {
			status = st.Status
		}
	}
	c.Header("Location", "/v1/orders/"+orderID)
	c.JSON(http.StatusAccepted, OrderAccepted{OrderID: orderID, WorkflowID: workflows.WorkflowID(orderID), Status: status})
}

// orderNamespace seeds the order IDs derived from idempotency keys.
var orderNamespace = uuid.MustParse("6f1b1f4e-8f0a-4c47-9a55-6b0e6a9b0c11")

// newOrderID returns a time-ordered random order ID, or, with an
// idempotency key, one derived from the client, the key and the order: a
// retry of the request finds its saga however long after, while the same
// key reused for another order (after its record expired) starts that
// order rather than answering with the old one.
func newOrderID(client, idempotencyKey string, req CreateOrderRequest) (string, error) {
	if idempotencyKey != "" {
		order, err := json.Marshal(req) // the order, whatever the body's spacing or field order
		if err != nil {
			return "", err
		}
		return uuid.NewSHA1(orderNamespace, []byte(client+"\x00"+idempotencyKey+"\x00"+string(order))).String(), nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

func (s *server) approveOrder(c *gin.Context) {
	id, owner, ok := s.ownedOrder(c)
	if !ok || !s.fourEyes(c, id, owner) {
		return
	}
	req := workflows.ApproveRequest{By: principal(c).Name}
	if !s.update(c, id, "approve", "", workflows.UpdateApprove, req) {
		return
	}
	c.JSON(http.StatusAccepted, UpdateAccepted{OrderID: id, WorkflowID: workflows.WorkflowID(id), Accepted: "approve"})
}

// UpdateAccepted answers the order actions (approve, cancel, retry,
// resolve): the saga has applied the action.
type UpdateAccepted struct {
	OrderID    string `json:"order_id"`
	WorkflowID string `json:"workflow_id"`
	Accepted   string `json:"accepted"`
	Step       string `json:"step,omitempty"`
}

// CancelRequest is the optional body of POST /v1/orders/{id}/cancel.
type CancelRequest struct {
	Reason string `json:"reason"`
}

// Validate reports an over-long reason.
func (r CancelRequest) Validate() error {
	var v validation
	if utf8.RuneCountInString(r.Reason) > workflows.MaxReasonLen {
		v.add("reason", "reason must be at most %d characters", workflows.MaxReasonLen)
	}
	return v.problem()
}

func (s *server) cancelOrder(c *gin.Context) {
	id, ok := s.order(c)
	if !ok {
		return
	}
	var req CancelRequest
	if hasBody(c) && !s.bind(c, &req) {
		return
	}
	if !s.update(c, id, "cancel", req.Reason, workflows.UpdateCancel, req.Reason) {
		return
	}
	c.JSON(http.StatusAccepted, UpdateAccepted{OrderID: id, WorkflowID: workflows.WorkflowID(id), Accepted: "cancel"})
}

// OrderEvents answers GET /v1/orders/{id}/events.
type OrderEvents struct {
	OrderID string         `json:"order_id"`
	Events  []events.Event `json:"events"`
}

func (s *server) getOrderEvents(c *gin.Context) {
	id, ok := s.order(c)
	if !ok {
		return
	}
	evs, err := s.deps.Timeline.Events(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if evs == nil {
		evs = []events.Event{} // none yet is [], not null
	}
	c.JSON(http.StatusOK, OrderEvents{OrderID: id, Events: evs})
}

// hasBody reports whether the request has a body, for an endpoint where it
// is optional: a body of zero bytes, sent with a Content-Length of 0 or
// chunked, is none.
func hasBody(c *gin.Context) bool {
	if c.Request.ContentLength == 0 || c.Request.Body == nil || c.Request.Body == http.NoBody {
		return false
	}
	br := bufio.NewReader(c.Request.Body)
	_, err := br.Peek(1)
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{br, c.Request.Body}
	return err == nil
}
