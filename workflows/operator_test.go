package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

func declined(int32) error {
	return temporal.NewNonRetryableApplicationError("card declined", activities.ErrPaymentDeclined, nil)
}

// A refund that keeps failing does not hold back the release of the stock,
// which does not depend on it; the order, which both depend on, waits. An
// operator's resolution then lets the saga end.
func TestStuckCompensationDoesNotHoldBackIndependentOnes(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ChargePaymentName] = func(int32) error { return errTransient }
	h.fail[activities.RefundPaymentName] = func(int32) error { return errTransient }
	var stuck workflows.State
	rejectsWhileStuck := -1
	h.env.RegisterDelayedCallback(func() {
		stuck = h.query()
		rejectsWhileStuck = h.count(activities.RejectOrderName)
	}, 2*time.Hour)
	resolve := h.update(2*time.Hour+time.Minute, workflows.UpdateResolveCompensation,
		workflows.CompensationRequest{Step: workflows.StepChargePayment, By: "ops", Reason: "voided at the provider by hand"})
	st, err := h.run(input(5000))
	require.NoError(t, err)

	require.Equal(t, workflows.StatusFailed, stuck.Status)
	require.Equal(t, workflows.StepCompensating, stepOf(stuck, workflows.StepChargePayment).Status)
	require.Equal(t, "connection reset", stepOf(stuck, workflows.StepChargePayment).CompensationError)
	require.Equal(t, workflows.StepCompensated, stepOf(stuck, workflows.StepReserveInventory).Status,
		"the independent release is done while the refund is stuck")
	require.Zero(t, rejectsWhileStuck, "the order waits for the compensations of the steps that depend on it")

	require.True(t, resolve.accepted, "resolve rejected: %v", resolve.rejected)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	charge := stepOf(st, workflows.StepChargePayment)
	require.Equal(t, workflows.StepResolved, charge.Status)
	require.NotNil(t, charge.Resolution)
	require.Equal(t, "ops", charge.Resolution.By)
	require.Equal(t, "voided at the provider by hand", charge.Resolution.Reason)
	require.False(t, charge.Resolution.At.IsZero())
	require.Empty(t, charge.CompensationError)
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepCreateOrder).Status)
	calls := h.distinctCalls()
	require.Equal(t, activities.RejectOrderName, calls[len(calls)-1])
	require.Len(t, h.resolutions, 1)
	require.Equal(t, activities.ResolutionInput{Key: "default-test-workflow-id/" + workflows.StepChargePayment, OrderID: "o1",
		Step: workflows.StepChargePayment, By: "ops", At: charge.Resolution.At, Reason: "voided at the provider by hand"}, h.resolutions[0])
}

// An operator's retry starts the next attempt at once instead of after the
// (here hour-long) wait between attempts.
func TestOperatorRetrySkipsTheBackoff(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ChargePaymentName] = declined
	retried := false
	h.fail[activities.ReleaseInventoryName] = func(int32) error {
		if !retried {
			return errTransient
		}
		return nil
	}
	in := input(5000)
	in.Options.CompensationMaxInterval = time.Hour
	// By 3h the alert bound has passed and the server retries hourly.
	h.env.RegisterDelayedCallback(func() { retried = true }, 3*time.Hour+time.Minute)
	retry := h.update(3*time.Hour+2*time.Minute, workflows.UpdateRetryCompensation,
		workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "ops"})
	start := h.env.Now()
	st, err := h.run(in)
	require.NoError(t, err)
	require.True(t, retry.accepted, "retry rejected: %v", retry.rejected)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepReserveInventory).Status)
	require.Less(t, h.env.Now().Sub(start), 3*time.Hour+10*time.Minute, "the retry did not wait for the next hourly attempt")
}

func TestOperatorActionsAreValidated(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ChargePaymentName] = declined
	h.fail[activities.ReleaseInventoryName] = func(int32) error { return errTransient }
	h.chargeWait = time.Minute
	early := h.update(30*time.Second, workflows.UpdateRetryCompensation,
		workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "ops"})
	unknown := h.update(time.Hour, workflows.UpdateRetryCompensation, workflows.CompensationRequest{Step: "ship", By: "ops"})
	noComp := h.update(time.Hour, workflows.UpdateRetryCompensation,
		workflows.CompensationRequest{Step: workflows.StepApproval, By: "ops"})
	noReason := h.update(time.Hour, workflows.UpdateResolveCompensation,
		workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "ops"})
	noBy := h.update(time.Hour, workflows.UpdateResolveCompensation,
		workflows.CompensationRequest{Step: workflows.StepReserveInventory, Reason: "fixed"})
	ok := h.update(2*time.Hour, workflows.UpdateResolveCompensation,
		workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "ops", Reason: "fixed by hand"})
	again := h.update(2*time.Hour, workflows.UpdateResolveCompensation,
		workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "ops", Reason: "twice"})
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.ErrorContains(t, early.rejected, "not being compensated")
	require.ErrorContains(t, unknown.rejected, `unknown step "ship"`)
	require.ErrorContains(t, noComp.rejected, "not being compensated")
	require.ErrorContains(t, noReason.rejected, "needs a reason")
	require.ErrorContains(t, noBy.rejected, "operator's name")
	require.True(t, ok.accepted, "resolve rejected: %v", ok.rejected)
	require.Error(t, again.rejected, "a compensation is resolved once")
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.Equal(t, workflows.StepResolved, stepOf(st, workflows.StepReserveInventory).Status)
}

func TestApproveRecordsWhoApproved(t *testing.T) {
	h := newHarness(t)
	approve := h.update(time.Minute, workflows.UpdateApprove, workflows.ApproveRequest{By: "ops"})
	st, err := h.run(input(200000))
	require.NoError(t, err)
	require.True(t, approve.accepted)
	require.Equal(t, workflows.StatusCompleted, st.Status)
	require.Equal(t, "ops", st.ApprovedBy)
}

// A worker never runs a saga started for a newer revision of the code: it
// fails the workflow task (here, the test environment reports the panic)
// before doing anything, so a newer worker can run it.
func TestNewerRevisionIsRefusedByAnOlderWorker(t *testing.T) {
	h := newHarness(t)
	in := input(5000)
	in.Revision = workflows.Revision + 1
	h.env.RegisterWorkflow(workflows.OrderFulfillment)
	h.env.ExecuteWorkflow(workflows.OrderFulfillment, in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.ErrorContains(t, h.env.GetWorkflowError(), "deploy the new workers before the starters")
	require.Empty(t, h.distinctCalls(), "no step ran")
}
