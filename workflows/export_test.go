package workflows

import "go.temporal.io/sdk/workflow"

// OrderFulfillmentUnguarded is OrderFulfillment with every change applied
// but without its workflow.GetVersion guard: the changes as a careless
// developer would ship them. Replaying older histories with it must fail.
func OrderFulfillmentUnguarded(ctx workflow.Context, in Input) (State, error) {
	s := newSaga(ctx, in, Definition())
	s.getVersion = func(_ workflow.Context, _ string, _, maxSupported workflow.Version) workflow.Version {
		return maxSupported
	}
	if err := s.register(ctx); err != nil {
		return s.state, err
	}
	return s.run(ctx)
}
