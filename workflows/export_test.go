package workflows

import "go.temporal.io/sdk/workflow"

// OrderFulfillmentUnguarded is OrderFulfillment with its retriable steps run
// concurrently but without the workflow.GetVersion guard: the change as a
// careless developer would ship it. Replaying older histories with it must
// fail.
func OrderFulfillmentUnguarded(ctx workflow.Context, in Input) (State, error) {
	s := newSaga(ctx, in, Definition())
	s.unguardedParallel = true
	if err := s.register(ctx); err != nil {
		return s.state, err
	}
	return s.run(ctx)
}
