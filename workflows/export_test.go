package workflows

import "go.temporal.io/sdk/workflow"

// OrderFulfillmentUnguarded is OrderFulfillment with the change
// parallel-retriable-steps applied without its workflow.GetVersion guard:
// the change as a careless developer would ship it (the other changes keep
// their guards). Replaying older histories with it must fail.
func OrderFulfillmentUnguarded(ctx workflow.Context, in Input) (State, error) {
	s := newSaga(ctx, in, Definition())
	s.getVersion = func(ctx workflow.Context, change string, minSupported, maxSupported workflow.Version) workflow.Version {
		if change == changeParallelRetriables {
			return maxSupported
		}
		return workflow.GetVersion(ctx, change, minSupported, maxSupported)
	}
	if err := s.register(ctx); err != nil {
		return s.state, err
	}
	return s.run(ctx)
}
