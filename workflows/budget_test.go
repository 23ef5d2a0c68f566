package workflows_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

// providerDown is what ChargePayment returns while the provider is down: the
// payment client's transient errors, in turn.
func providerDown(attempt int32) error {
	return []error{
		errors.New("charge order o1: payment provider unavailable: status 503: try again later"),
		errors.New("charge order o1: payment provider unavailable: Post \"http://provider/v1/charges\": context deadline exceeded"),
		errors.New("charge order o1: payment provider unavailable: circuit open"),
	}[attempt%3]
}

// TestChargeRidesOutProviderOutage: a charge failing transiently for 20
// attempts (over 7 minutes, far past the 35 s the old 8-attempt policy
// lasted) completes the saga within the default 15 m budget, with the
// backoff capped at 30 s.
func TestChargeRidesOutProviderOutage(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ChargePaymentName] = func(attempt int32) error {
		if attempt <= 20 {
			return providerDown(attempt)
		}
		return nil
	}
	start := h.env.Now()
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompleted, st.Status)
	requireForward(t, h.distinctCalls())
	require.EqualValues(t, 21, stepOf(st, workflows.StepChargePayment).Attempts)
	require.Equal(t, 21, h.count(activities.ChargePaymentName))
	// 0.5+1+2+4+8+16 s, then 14 waits capped at 30 s.
	require.InDelta(t, (451500 * time.Millisecond).Seconds(), h.env.Now().Sub(start).Seconds(), 1)
}

// TestChargeBudgetRunsOutCompensates: when the provider stays down past the
// retry budget the charge ends without a definite answer; it is refunded (a
// void, since it never succeeded) and the saga is compensated, saying why.
func TestChargeBudgetRunsOutCompensates(t *testing.T) {
	for name, tc := range map[string]struct {
		budget, want time.Duration
	}{
		"default budget":    {0, workflows.DefaultPaymentRetryBudget},
		"configured budget": {2 * time.Minute, 2 * time.Minute},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.fail[activities.ChargePaymentName] = providerDown
			in := input(5000)
			in.Options.PaymentRetryBudget = tc.budget
			start := h.env.Now()
			st, err := h.run(in)
			require.NoError(t, err)
			elapsed := h.env.Now().Sub(start)
			require.Equal(t, workflows.StatusCompensated, st.Status)
			require.Contains(t, st.FailureReason, "retry budget of "+tc.want.String()+" ran out")
			require.Contains(t, st.FailureReason, "payment provider unavailable")
			// The charge may have happened: it is refunded (or voided) too,
			// beside the release of the stock; the order is rejected last.
			calls := h.distinctCalls()
			require.Len(t, calls, 6)
			require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName, activities.ChargePaymentName}, calls[:3])
			require.ElementsMatch(t, []string{activities.RefundPaymentName, activities.ReleaseInventoryName}, calls[3:5])
			require.Equal(t, activities.RejectOrderName, calls[5])
			require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepChargePayment).Status)
			require.Equal(t, st.FailureReason, stepOf(st, workflows.StepChargePayment).LastError)
			require.LessOrEqual(t, elapsed, tc.want, "retried past the budget")
			require.Greater(t, elapsed, tc.want-time.Minute, "gave up long before the budget ran out")
		})
	}
}

// serverRetries makes the test environment retry as the server does. The
// SDK's test environment caps a retry policy of unlimited attempts
// (MaximumAttempts 0) at 10 attempts; the server retries until the
// activity's ScheduleToClose runs out. This gives such policies a limit far
// past any test's needs instead.
type serverRetries struct {
	interceptor.WorkerInterceptorBase
}

func (*serverRetries) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &serverRetriesInbound{interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type serverRetriesInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *serverRetriesInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&serverRetriesOutbound{interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

type serverRetriesOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *serverRetriesOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	opts := workflow.GetActivityOptions(ctx)
	if p := opts.RetryPolicy; p != nil && p.MaximumAttempts == 0 {
		unlimited := *p
		unlimited.MaximumAttempts = 1000
		opts.RetryPolicy = &unlimited
		ctx = workflow.WithActivityOptions(ctx, opts)
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}
