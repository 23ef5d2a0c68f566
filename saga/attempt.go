package saga

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// AttemptInterceptor returns the worker interceptor that gives every
// business failure (a non-retryable application error) an activity returns
// the attempt it ended on, as its details ({"attempt": n}): the saga then
// knows how many attempts a failed step took, as it does for a step whose
// result carries its attempt. Errors that already carry details are left as
// they are. Install it on the workers that run a saga's activities.
func AttemptInterceptor() interceptor.WorkerInterceptor { return &attemptInterceptor{} }

type attemptInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*attemptInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &attemptInbound{}
	i.Next = next
	return i
}

type attemptInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *attemptInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	out, err := a.Next.ExecuteActivity(ctx, in)
	var appErr *temporal.ApplicationError
	if err != nil && errors.As(err, &appErr) && appErr.NonRetryable() && !appErr.HasDetails() {
		err = temporal.NewNonRetryableApplicationError(appErr.Message(), appErr.Type(), appErr.Unwrap(),
			attempted{Attempt: activity.GetInfo(ctx).Attempt})
	}
	return out, err
}
