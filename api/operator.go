package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/workflows"
)

// ResolveRequest is the body of POST
// /v1/orders/{id}/compensations/{step}/resolve.
type ResolveRequest struct {
	// Reason says what was fixed by hand; required.
	Reason string `json:"reason"`
}

// Validate requires a reason of 1 to workflows.MaxReasonLen characters.
func (r ResolveRequest) Validate() error {
	var v validation
	switch {
	case strings.TrimSpace(r.Reason) == "":
		v.add("reason", "reason is required: say what was fixed by hand")
	case utf8.RuneCountInString(r.Reason) > workflows.MaxReasonLen:
		v.add("reason", "reason must be at most %d characters", workflows.MaxReasonLen)
	}
	return v.problem()
}

// retryCompensation retries a compensation at once, skipping its backoff.
func (s *server) retryCompensation(c *gin.Context) {
	id, step, ok := s.compensationTarget(c)
	if !ok {
		return
	}
	req := workflows.CompensationRequest{Step: step, By: principal(c).Name}
	if !s.update(c, id, "compensation.retry", "", workflows.UpdateRetryCompensation, req) {
		return
	}
	c.JSON(http.StatusAccepted, UpdateAccepted{OrderID: id, WorkflowID: workflows.WorkflowID(id), Accepted: "retry", Step: step})
}

// resolveCompensation records that an operator fixed a compensation's
// effect by hand; the saga stops retrying it and goes on to its end state.
func (s *server) resolveCompensation(c *gin.Context) {
	id, step, ok := s.compensationTarget(c)
	if !ok {
		return
	}
	var req ResolveRequest
	if !s.bind(c, &req) {
		return
	}
	creq := workflows.CompensationRequest{Step: step, By: principal(c).Name, Reason: req.Reason}
	if !s.update(c, id, "compensation.resolve", req.Reason, workflows.UpdateResolveCompensation, creq) {
		return
	}
	c.JSON(http.StatusAccepted, UpdateAccepted{OrderID: id, WorkflowID: workflows.WorkflowID(id), Accepted: "resolve", Step: step})
}

// compensationTarget returns the path's order and step, answering a
// problem for a bad ID, an unreachable order or a step with no
// compensation.
func (s *server) compensationTarget(c *gin.Context) (orderID, step string, ok bool) {
	step, ok = s.param(c, "step")
	if !ok {
		return "", "", false
	}
	if !hasCompensation(step) {
		p := statusProblem(http.StatusNotFound, "step "+step+" has no compensation; steps with one: "+strings.Join(workflows.CompensatedSteps(), ", "))
		p.Field = "step"
		s.problem(c, p)
		return "", "", false
	}
	orderID, ok = s.order(c)
	return orderID, step, ok
}

func hasCompensation(step string) bool {
	for _, s := range workflows.CompensatedSteps() {
		if s == step {
			return true
		}
	}
	return false
}
