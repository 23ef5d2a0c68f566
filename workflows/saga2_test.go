package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

// Revision 2: the card is authorized before the approval and captured
// after it; the options are the orchestrator worker's.

// workerOptions are the orchestrator's options in these tests.
var workerOptions = workflows.Options{ApprovalThresholdCents: 100000, ApprovalTimeout: time.Hour, CompensationAlertAttempts: 3,
	CompensationMaxInterval: 10 * time.Second, PaymentRetryBudget: time.Minute}

// newHarness2 returns a harness whose orchestrator has workerOptions.
func newHarness2(t *testing.T) *harness {
	return newHarnessWith(t, &workflows.Config{Options: workerOptions})
}

// input2 is an order of total cents at revision 2 whose input forges the
// options a caller would like: no approval, a second to approve. The saga
// must ignore them.
func input2(total int64) workflows.Input {
	in := input(total)
	in.Revision = 2
	in.Options = workflows.Options{ApprovalThresholdCents: -1, ApprovalTimeout: time.Second}
	return in
}

// mockPayment installs the payment activities of both revisions; the
// capture and the charge answer after h.chargeWait.
func (h *harness) mockPayment() {
	h.env.OnActivity(activities.ChargePaymentName, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ChargeInput) (activities.Charge, error) {
			if err := h.call(ctx, activities.ChargePaymentName); err != nil {
				return activities.Charge{}, err
			}
			return activities.Charge{Outcome: attempt(ctx), ChargeID: "ch_" + in.Key, AmountCents: in.AmountCents}, nil
		}).After(h.chargeWait)
	h.env.OnActivity(activities.AuthorizePaymentName, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.AuthorizeInput) (activities.Authorization, error) {
			if err := h.call(ctx, activities.AuthorizePaymentName); err != nil {
				return activities.Authorization{}, err
			}
			return activities.Authorization{Outcome: attempt(ctx), AuthorizationID: "au_" + in.Key, AmountCents: in.AmountCents}, nil
		})
	h.env.OnActivity(activities.CapturePaymentName, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.CaptureInput) (activities.Capture, error) {
			if err := h.call(ctx, activities.CapturePaymentName); err != nil {
				return activities.Capture{}, err
			}
			return activities.Capture{Outcome: attempt(ctx), ChargeID: "cp_" + in.AuthorizationKey,
				AuthorizationID: "au_" + in.AuthorizationKey, AmountCents: in.AmountCents}, nil
		}).After(h.chargeWait)
	h.env.OnActivity(activities.VoidPaymentName, mock.Anything, mock.Anything).Return(outcomeFn[activities.VoidInput](h, activities.VoidPaymentName))
	h.env.OnActivity(activities.RefundCaptureName, mock.Anything, mock.Anything).Return(
		outcomeFn[activities.RefundCaptureInput](h, activities.RefundCaptureName))
}

func declinedCard(int32) error {
	return temporal.NewNonRetryableApplicationError("card declined", activities.ErrPaymentDeclined, nil)
}

// TestRevision2DeclinedCardReleasesBeforeApproval: an order above the
// approval threshold with a declined card ends at once, before it waits:
// its stock is released and its order rejected, with no approval pending.
func TestRevision2DeclinedCardReleasesBeforeApproval(t *testing.T) {
	h := newHarness2(t)
	h.fail[activities.AuthorizePaymentName] = declinedCard
	start := h.env.Now()
	st, err := h.run(input2(200000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.Equal(t, "card declined", st.FailureReason)
	require.Less(t, h.env.Now().Sub(start), time.Minute, "the saga waited")
	calls := h.distinctCalls()
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName, activities.AuthorizePaymentName}, calls[:3])
	require.Equal(t, activities.ReleaseInventoryName, calls[3])
	require.Equal(t, activities.RejectOrderName, calls[4])
	require.Len(t, calls, 5, "the decline had no effect: nothing to void")
	require.Equal(t, workflows.StepPending, stepOf(st, workflows.StepApproval).Status)
	require.Equal(t, workflows.StepFailed, stepOf(st, workflows.StepAuthorizePayment).Status)
}

// TestRevision2ApprovalThenCapture: the input's forged options are
// ignored (the order waits for its approval, past the forged timeout); once
// approved, the authorization is captured and the order completes.
func TestRevision2ApprovalThenCapture(t *testing.T) {
	h := newHarness2(t)
	approve := h.update(30*time.Minute, workflows.UpdateApprove, workflows.ApproveRequest{By: "boss"})
	st, err := h.run(input2(200000))
	require.NoError(t, err)
	require.True(t, approve.accepted, "the order was not awaiting approval: %v", approve.rejected)
	require.Equal(t, workflows.StatusCompleted, st.Status)
	calls := h.distinctCalls()
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName, activities.AuthorizePaymentName,
		activities.CapturePaymentName}, calls[:4])
	require.ElementsMatch(t, []string{activities.ConfirmOrderName, activities.CommitInventoryName}, calls[4:])
	require.Equal(t, "au_default-test-workflow-id/authorize_payment", st.AuthorizationID)
	require.Equal(t, "cp_default-test-workflow-id/authorize_payment", st.ChargeID, "the capture is of the authorization's key")
	require.Equal(t, "boss", st.ApprovedBy)
	for _, s := range []string{workflows.StepAuthorizePayment, workflows.StepApproval, workflows.StepCapturePayment} {
		require.Equal(t, workflows.StepCompleted, stepOf(st, s).Status, s)
	}
}

// TestRevision2CaptureFailsAfterApproval: the capture is the pivot. Once it
// has started a cancel is refused; a capture refused for good compensates
// the steps before it (the hold is voided, the stock released, the order
// rejected) and needs no refund itself.
func TestRevision2CaptureFailsAfterApproval(t *testing.T) {
	h := newHarness2(t)
	h.chargeWait = time.Minute
	h.fail[activities.CapturePaymentName] = func(int32) error {
		return temporal.NewNonRetryableApplicationError("authorization expired", activities.ErrPaymentDeclined, nil)
	}
	h.update(10*time.Minute, workflows.UpdateApprove, workflows.ApproveRequest{By: "boss"})
	cancel := h.update(10*time.Minute+30*time.Second, workflows.UpdateCancel, "too late")
	st, err := h.run(input2(200000))
	require.NoError(t, err)
	require.Error(t, cancel.rejected, "a cancel after the pivot started")
	require.Contains(t, cancel.rejected.Error(), "payment has started")
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.Equal(t, "authorization expired", st.FailureReason)
	require.Equal(t, 1, h.count(activities.VoidPaymentName))
	require.Equal(t, 1, h.count(activities.ReleaseInventoryName))
	require.Equal(t, 1, h.count(activities.RejectOrderName))
	require.Zero(t, h.count(activities.RefundCaptureName), "a refused capture took nothing")
	require.Zero(t, h.count(activities.ConfirmOrderName))
}

// TestRevision2CaptureWithoutAnswerIsRefundedThenVoided: a capture whose
// retry budget runs out may have taken the money: it is refunded before
// the authorization is voided.
func TestRevision2CaptureWithoutAnswerIsRefundedThenVoided(t *testing.T) {
	h := newHarness2(t)
	h.fail[activities.CapturePaymentName] = func(int32) error { return errTransient }
	h.update(10*time.Minute, workflows.UpdateApprove, workflows.ApproveRequest{By: "boss"})
	st, err := h.run(input2(200000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	calls := h.distinctCalls()
	refund, void := indexOf(calls, activities.RefundCaptureName), indexOf(calls, activities.VoidPaymentName)
	require.GreaterOrEqual(t, refund, 0)
	require.Greater(t, void, refund, "the refund comes before the void: %v", calls)
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepCapturePayment).Status)
}

func indexOf(calls []string, name string) int {
	for i, c := range calls {
		if c == name {
			return i
		}
	}
	return -1
}

// TestRevision2CancelWhileAwaitingApprovalVoids: a cancel while the order
// awaits its approval voids the hold, releases the stock and rejects the
// order; nothing is captured.
func TestRevision2CancelWhileAwaitingApprovalVoids(t *testing.T) {
	h := newHarness2(t)
	cancel := h.update(10*time.Minute, workflows.UpdateCancel, "changed my mind")
	st, err := h.run(input2(200000))
	require.NoError(t, err)
	require.True(t, cancel.accepted, "cancel refused: %v", cancel.rejected)
	require.Equal(t, workflows.StatusCancelled, st.Status)
	require.Equal(t, "changed my mind", st.FailureReason)
	requireVoidedAndReleased(t, h, st)
}

// TestRevision2ApprovalTimeoutVoids: past the worker's approval timeout
// (not the input's) the order is cancelled, its hold voided and its stock
// released.
func TestRevision2ApprovalTimeoutVoids(t *testing.T) {
	h := newHarness2(t)
	start := h.env.Now()
	st, err := h.run(input2(200000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCancelled, st.Status)
	require.Contains(t, st.FailureReason, "approval timed out after 1h0m0s")
	require.GreaterOrEqual(t, h.env.Now().Sub(start), time.Hour)
	requireVoidedAndReleased(t, h, st)
}

func requireVoidedAndReleased(t *testing.T, h *harness, st workflows.State) {
	t.Helper()
	require.Equal(t, 1, h.count(activities.VoidPaymentName))
	require.Equal(t, 1, h.count(activities.ReleaseInventoryName))
	require.Equal(t, 1, h.count(activities.RejectOrderName))
	require.Zero(t, h.count(activities.CapturePaymentName))
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepAuthorizePayment).Status)
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepReserveInventory).Status)
}

// TestRevision1StartedNowTakesWorkerOptions: a saga of revision 1 started
// now (a forged or an old starter's input) runs with the worker's options
// too; only the recorded ones keep their input's (the replay tests).
func TestRevision1StartedNowTakesWorkerOptions(t *testing.T) {
	h := newHarness2(t)
	in := input(200000)
	in.Options.ApprovalThresholdCents = -1
	st, err := h.run(in)
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCancelled, st.Status, "the forged threshold skipped the approval")
	require.Contains(t, st.FailureReason, "approval timed out after 1h0m0s")
	require.Equal(t, workflows.StepFailed, stepOf(st, workflows.StepApproval).Status)
	require.Zero(t, h.count(activities.ChargePaymentName))
}
