package activities_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/ordersaga/ordersaga/activities"
)

// TestBusinessFailuresCarryTheirAttempt: with AttemptInterceptor, a
// non-retryable failure says which attempt it ended on; a retryable one, or
// one that already has details, is left as it is.
func TestBusinessFailuresCarryTheirAttempt(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{activities.AttemptInterceptor()}})
	declined := func(context.Context) error {
		return temporal.NewNonRetryableApplicationError("card declined", activities.ErrPaymentDeclined, errors.New("provider: declined"))
	}
	flaky := func(context.Context) error { return errors.New("provider: 503") }
	detailed := func(context.Context) error {
		return temporal.NewNonRetryableApplicationError("out of stock", activities.ErrOutOfStock, nil, "their own details")
	}
	env.RegisterActivityWithOptions(declined, activity.RegisterOptions{Name: "declined"})
	env.RegisterActivityWithOptions(flaky, activity.RegisterOptions{Name: "flaky"})
	env.RegisterActivityWithOptions(detailed, activity.RegisterOptions{Name: "detailed"})

	_, err := env.ExecuteActivity("declined")
	require.EqualValues(t, 1, activities.FailedAttempt(err), "%v", err)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, activities.ErrPaymentDeclined, appErr.Type(), "the type and message are kept")
	require.Equal(t, "card declined", appErr.Message())
	require.True(t, appErr.NonRetryable())

	_, err = env.ExecuteActivity("flaky")
	require.Zero(t, activities.FailedAttempt(err))
	_, err = env.ExecuteActivity("detailed")
	require.Zero(t, activities.FailedAttempt(err))
	require.ErrorAs(t, err, &appErr)
	var own string
	require.NoError(t, appErr.Details(&own))
	require.Equal(t, "their own details", own)
}
