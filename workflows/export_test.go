package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

// OrderFulfillmentUnguarded is OrderFulfillment with the engine change
// parallel-retriable-steps applied to revision 0 without its
// workflow.GetVersion marker: the change as a careless developer would ship
// it (the other change keeps its marker). Replaying older histories with it
// must fail.
func OrderFulfillmentUnguarded(ctx workflow.Context, in Input) (State, error) {
	def := Definition(in.Revision, in.Options)
	def.Markers = []saga.Change{saga.ChangeIndependentCompensations}
	return start(ctx, in, def)
}
