package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

// OrderFulfillment runs the order fulfillment saga: Definition of the
// revision in.Revision, on the engine (saga.Run).
//
// It returns the final State. A business failure (out of stock, declined,
// approval timeout) or a cancel before the pivot compensates the completed
// steps in reverse order and still returns a State (COMPENSATED or
// CANCELLED) with a nil error; a Temporal cancellation request does the same
// but ends the workflow as canceled, with the final State as the canceled
// error's details. Cancellation after the pivot has started is ignored: the
// saga completes.
func OrderFulfillment(ctx workflow.Context, in Input) (State, error) {
	if in.Revision > Revision {
		// A starter newer than this worker: running the saga with older
		// code would record a history the newer workers cannot replay.
		// Panicking fails the workflow task, which Temporal retries until a
		// worker of that revision takes it.
		panic(fmt.Sprintf("saga of revision %d, but this worker runs revision %d: deploy the new workers before the starters", in.Revision, Revision))
	}
	return run(ctx, in, Definition(in.Revision, in.Options))
}

// run runs def for in.
func run(ctx workflow.Context, in Input, def saga.Definition[State]) (State, error) {
	return saga.Run(ctx, def, &State{OrderID: in.OrderID, ClientID: in.ClientID, CustomerID: in.CustomerID, in: in})
}

// ensureSearchAttributes sets the order ID and status when the starter did
// not (the API always does; a saga started from the CLI may not). The
// customer ID is left to the starter: search attributes are stored in clear,
// and only the starter knows whether to store a reference instead.
func ensureSearchAttributes(ctx workflow.Context, o *State) {
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(OrderIDKey); ok {
		return
	}
	err := workflow.UpsertTypedSearchAttributes(ctx,
		OrderIDKey.ValueSet(o.OrderID),
		SagaStatusKey.ValueSet(string(o.Status)),
	)
	if err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes failed", "error", err)
	}
}
