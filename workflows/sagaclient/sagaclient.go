// Package sagaclient is the API's side of the saga: it starts, reads,
// lists, approves and cancels OrderFulfillment workflows through the
// Temporal client and turns Temporal's errors into domain errors.
package sagaclient

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/workflows"
)

// Client drives sagas. It is safe for concurrent use.
type Client struct {
	c client.Client
	// finished keeps the state and owner of finished sagas, which never
	// change.
	finished *finishedCache
	// awaiting keeps each client's count of orders awaiting approval.
	awaiting *awaitingCache
	// CustomerRefs, if set, turns a customer ID into the values its sagas'
	// CustomerId search attribute may hold (search attributes are not
	// encrypted): the first is what a new saga gets, the others what sagas
	// started under earlier keys got. A list by customer matches any.
	CustomerRefs func(customerID string) []string
}

// New returns a Client. The sagas it starts run with the orchestrator
// worker's options (workflows.Config.Options): a starter has no say in
// them.
func New(c client.Client) *Client {
	return &Client{c: c, finished: newFinishedCache(), awaiting: newAwaitingCache()}
}

// Start starts the saga of in.OrderID. A saga with that order ID, running or
// finished, is an ECONFLICT error.
func (s *Client) Start(ctx context.Context, in workflows.Input) error {
	opts, in := s.startOptions(in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
	_, err := s.c.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
	return domainError("start saga", err)
}

// startOptions returns how to start in's saga, with conflict as the policy
// toward a running saga of the same order ID (a finished one always
// refuses the start), and in as the saga gets it.
func (s *Client) startOptions(in workflows.Input, conflict enumspb.WorkflowIdConflictPolicy) (client.StartWorkflowOptions, workflows.Input) {
	in.Options = workflows.Options{} // the worker's, not the starter's
	in.Revision = workflows.Revision
	customer := in.CustomerID
	if s.CustomerRefs != nil {
		customer = s.CustomerRefs(customer)[0]
	}
	return client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(in.OrderID),
		TaskQueue:                workflows.TaskQueueOrchestrator,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: conflict,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.OrderIDKey.ValueSet(in.OrderID),
			workflows.CustomerIDKey.ValueSet(customer),
			workflows.SagaStatusKey.ValueSet(string(workflows.StatusRunning)),
			workflows.ClientIDKey.ValueSet(in.ClientID),
		),
		StaticSummary: workflows.Summary(in),
		StaticDetails: workflows.StaticDetails(in),
	}, in
}

// Update sends update name with args to orderID's saga and waits until the
// saga has applied it. A non-empty updateID is the update's ID: Temporal
// applies updates with the same ID once, so a retried request does not act
// twice. The saga's refusal is ECONFLICT with its reason; an unknown order
// is ENOTFOUND, an ended one ECONFLICT.
func (s *Client) Update(ctx context.Context, orderID, updateID, name string, args ...any) error {
	id := workflows.WorkflowID(orderID)
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateID:     updateID,
		UpdateName:   name,
		Args:         args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err == nil {
		return nil
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// Unknown, or already finished: tell which.
		if _, derr := s.c.DescribeWorkflowExecution(ctx, id, ""); derr == nil {
			return ordersaga.Errorf(ordersaga.ECONFLICT, "order %s: the saga has already ended", orderID)
		}
		return domainError(name, err)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		// The workflow's validator said no: its message is the reason.
		return ordersaga.Errorf(ordersaga.ECONFLICT, "order %s: %s", orderID, appErr.Message())
	}
	return domainError(name, err)
}

// domainError maps Temporal's errors to domain codes.
func domainError(op string, err error) error {
	if err == nil {
		return nil
	}
	var (
		notFound *serviceerror.NotFound
		started  *serviceerror.WorkflowExecutionAlreadyStarted
		unavail  *serviceerror.Unavailable
		deadline *serviceerror.DeadlineExceeded
	)
	switch {
	case errors.As(err, &notFound):
		return &ordersaga.Error{Code: ordersaga.ENOTFOUND, Message: "order not found", Err: err}
	case errors.As(err, &started):
		return &ordersaga.Error{Code: ordersaga.ECONFLICT, Message: "a saga for this order already exists", Err: err}
	case errors.As(err, &unavail), errors.As(err, &deadline), errors.Is(err, context.DeadlineExceeded):
		return &ordersaga.Error{Code: ordersaga.EUNAVAILABLE, Message: "temporal is unavailable", Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}
