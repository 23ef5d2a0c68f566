package sagaclient

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/saga"
	"github.com/ordersaga/ordersaga/workflows"
)

// Awaited is what StartAwait learnt of a saga.
type Awaited struct {
	// Decided reports that the step has an outcome (or the saga went past
	// it); State is the saga's state then. When false, the wait ran out
	// first: the saga runs on, and so does the wait inside it.
	Decided bool
	State   workflows.State
}

// finalTimeout bounds the reads that tell what became of a start whose
// wait ran out, or of a saga that has ended.
const finalTimeout = 2 * time.Second

// StartAwait starts in's saga — or joins the running saga of in.OrderID, as
// a retry of the same idempotent request does — and waits up to wait (and
// within ctx) until step has an outcome: it completed, failed or was
// skipped, or the saga is compensating or has ended. It sends the saga's
// saga.UpdateAwaitStep with the start (Update-with-Start), under an update
// ID derived from step, so a retry waits on the same update. A saga of
// in.OrderID that has ended is not started again: its final state is the
// answer.
//
// When the wait runs out it returns Decided false, and no error once the
// saga is known to exist. Errors are domain errors: EUNAVAILABLE when
// Temporal does not answer (the saga may or may not have started: a retry
// with the same order ID finds it).
func (s *Client) StartAwait(ctx context.Context, in workflows.Input, step string, wait time.Duration) (Awaited, error) {
	opts, in := s.startOptions(in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING)
	start := s.c.NewWithStartWorkflowOperation(opts, workflows.WorkflowName, in)
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	h, err := s.c.UpdateWithStartWorkflow(waitCtx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     saga.UpdateAwaitStep + ":" + step,
			UpdateName:   saga.UpdateAwaitStep,
			Args:         []any{saga.AwaitRequest{Step: step}},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var st workflows.State
	if err == nil {
		err = h.Get(waitCtx, &st)
	}
	if err == nil {
		return Awaited{Decided: true, State: st}, nil
	}
	if ctx.Err() != nil {
		// The caller is gone, or out of time: nothing more to learn.
		return Awaited{}, domainError("start saga and await "+step, err)
	}
	// The reads below may run past the wait, within the caller's deadline.
	rctx, rcancel := context.WithTimeout(ctx, finalTimeout)
	defer rcancel()
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var callTimedOut *client.WorkflowUpdateServiceTimeoutOrCanceledError
	switch {
	case errors.As(err, &started):
		// REJECT_DUPLICATE: the saga of this order has ended.
		return s.ended(rctx, in.OrderID)
	case waitCtx.Err() != nil, errors.As(err, &callTimedOut):
		// The wait ran out. The SDK reports an update call that gRPC
		// ended as canceled or timed out with callTimedOut, which can come
		// just before waitCtx's deadline (seen: a stream reset with CANCEL
		// 1.91 s into a 2 s wait). pending still asks whether the saga is
		// there, so an unreachable Temporal stays an error.
		return s.pending(rctx, start, in.OrderID, err)
	}
	if ended, ferr := s.ended(rctx, in.OrderID); ferr == nil && ended.State.Status.Terminal() {
		// The saga ended before the update could answer.
		return ended, nil
	}
	return Awaited{}, domainError("start saga and await "+step, err)
}

// pending reports a saga whose wait ran out (err): not decided, once the
// saga is known to exist.
func (s *Client) pending(ctx context.Context, start client.WithStartWorkflowOperation, orderID string, err error) (Awaited, error) {
	// The start's answer, if it came: Get answers at once then.
	known, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	_, serr := start.Get(known)
	cancel()
	if serr == nil {
		return Awaited{}, nil
	}
	// No answer within the wait: ask whether the saga is there.
	if _, derr := s.describe(ctx, orderID); derr != nil {
		if ordersaga.ErrorCode(derr) == ordersaga.ENOTFOUND {
			return Awaited{}, domainError("start saga", errors.Join(err, context.DeadlineExceeded))
		}
		return Awaited{}, derr
	}
	return Awaited{}, nil
}

// ended returns the final state of orderID's saga, which has ended.
func (s *Client) ended(ctx context.Context, orderID string) (Awaited, error) {
	st, err := s.State(ctx, orderID)
	if err != nil {
		return Awaited{}, err
	}
	return Awaited{Decided: true, State: st}, nil
}
