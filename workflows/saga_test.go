package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/saga"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/workflows"
)

// harness runs OrderFulfillment in Temporal's test environment with fake
// activities that record their calls and fail on demand.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu    sync.Mutex
	calls []string
	// fail[name] decides the error of each attempt of an activity.
	fail          map[string]func(attempt int32) error
	unitPrice     int64
	chargeWait    time.Duration
	retriableWait time.Duration
	resolutions   []activities.ResolutionInput
	updates       int
	// cfg is the orchestrator's; nil: the options of the input run.
	cfg *workflows.Config
}

// newHarness returns a harness whose orchestrator worker has the options of
// the input it runs (see run); configure adjusts the test suite first.
func newHarness(t *testing.T, configure ...func(*testsuite.WorkflowTestSuite)) *harness {
	t.Helper()
	return newHarnessWith(t, nil, configure...)
}

// newHarnessWith returns a harness running the saga as an orchestrator
// worker with cfg runs it (nil: with the options of the input it runs).
func newHarnessWith(t *testing.T, cfg *workflows.Config, configure ...func(*testsuite.WorkflowTestSuite)) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	for _, c := range configure {
		c(&suite)
	}
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), fail: map[string]func(int32) error{}, unitPrice: 1000, cfg: cfg}
	h.env.RegisterActivity(&order.Activities{})
	h.env.RegisterActivity(&inventory.Activities{})
	h.env.RegisterActivity(&payment.Activities{})
	h.env.OnActivity(activities.CreateOrderName, mock.Anything, mock.Anything).Return(outcomeFn[activities.CreateOrderInput](h, activities.CreateOrderName))
	h.env.OnActivity(activities.RejectOrderName, mock.Anything, mock.Anything).Return(outcomeFn[activities.RejectOrderInput](h, activities.RejectOrderName))
	h.env.OnActivity(activities.ReleaseInventoryName, mock.Anything, mock.Anything).Return(outcomeFn[activities.ReservationRef](h, activities.ReleaseInventoryName))
	h.env.OnActivity(activities.RefundPaymentName, mock.Anything, mock.Anything).Return(outcomeFn[activities.RefundInput](h, activities.RefundPaymentName))
	h.env.OnActivity(activities.RecordResolutionName, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ResolutionInput) (activities.Outcome, error) {
			h.mu.Lock()
			h.resolutions = append(h.resolutions, in)
			h.mu.Unlock()
			return outcomeFn[activities.ResolutionInput](h, activities.RecordResolutionName)(ctx, in)
		})
	h.env.SetTestTimeout(30 * time.Second)
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&serverRetries{}, saga.AttemptInterceptor()}})
	h.env.OnActivity(activities.ReserveInventoryName, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ReserveInput) (activities.Reservation, error) {
			if err := h.call(ctx, activities.ReserveInventoryName); err != nil {
				return activities.Reservation{}, err
			}
			var lines []ordersaga.Line
			for _, it := range in.Items {
				lines = append(lines, ordersaga.Line{SKU: it.SKU, Quantity: it.Quantity, UnitPriceCents: h.unitPrice})
			}
			return activities.Reservation{Outcome: attempt(ctx), Lines: lines, TotalCents: ordersaga.Total(lines)}, nil
		})
	return h
}

func attempt(ctx context.Context) activities.Outcome {
	return activities.Outcome{Attempt: activity.GetInfo(ctx).Attempt}
}

// outcomeFn is a fake activity taking In that succeeds unless h.fail says.
func outcomeFn[In any](h *harness, name string) func(context.Context, In) (activities.Outcome, error) {
	return func(ctx context.Context, _ In) (activities.Outcome, error) {
		if err := h.call(ctx, name); err != nil {
			return activities.Outcome{}, err
		}
		return attempt(ctx), nil
	}
}

func (h *harness) call(ctx context.Context, name string) error {
	h.mu.Lock()
	h.calls = append(h.calls, name)
	fail := h.fail[name]
	h.mu.Unlock()
	if fail != nil {
		return fail(activity.GetInfo(ctx).Attempt)
	}
	return nil
}

// distinctCalls returns the activities called, in order, repeats folded.
// The order and the reservation start together: whichever the test
// environment ran first, they are listed in the definition's order.
func (h *harness) distinctCalls() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	calls := slices.Compact(slices.Clone(h.calls))
	if len(calls) >= 2 && calls[0] == activities.ReserveInventoryName && calls[1] == activities.CreateOrderName {
		calls[0], calls[1] = calls[1], calls[0]
	}
	return calls
}

func (h *harness) query() workflows.State {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryState)
	require.NoError(h.t, err)
	var st workflows.State
	require.NoError(h.t, v.Get(&st))
	return st
}

func (h *harness) run(in workflows.Input) (workflows.State, error) {
	h.t.Helper()
	h.env.OnActivity(activities.ConfirmOrderName, mock.Anything, mock.Anything).
		Return(outcomeFn[activities.ConfirmOrderInput](h, activities.ConfirmOrderName)).After(h.retriableWait)
	h.env.OnActivity(activities.CommitInventoryName, mock.Anything, mock.Anything).
		Return(outcomeFn[activities.ReservationRef](h, activities.CommitInventoryName)).After(h.retriableWait)
	h.mockPayment()
	cfg := workflows.Config{Options: in.Options}
	if h.cfg != nil {
		cfg = *h.cfg
	}
	h.env.RegisterWorkflowWithOptions(workflows.Workflow(cfg), workflow.RegisterOptions{Name: workflows.WorkflowName})
	h.env.ExecuteWorkflow(workflows.WorkflowName, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	var st workflows.State
	err := h.env.GetWorkflowError()
	if err == nil {
		require.NoError(h.t, h.env.GetWorkflowResult(&st))
	} else {
		st = h.query()
	}
	return st, err
}

// update sends an update after delay and records how it ended.
func (h *harness) update(delay time.Duration, name string, args ...any) *updateResult {
	r := &updateResult{}
	h.updates++
	id := fmt.Sprintf("%s-%d", name, h.updates)
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept:   func() { r.accepted = true },
			OnReject:   func(err error) { r.rejected = err },
			OnComplete: func(any, error) {},
		}, args...)
	}, delay)
	return r
}

type updateResult struct {
	accepted bool
	rejected error
}

// count returns how many times the activity name was called.
func (h *harness) count(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c == name {
			n++
		}
	}
	return n
}

func input(total int64, items ...ordersaga.Item) workflows.Input {
	if len(items) == 0 {
		items = []ordersaga.Item{{SKU: "sku-1", Quantity: total / 1000}}
	}
	return workflows.Input{OrderID: "o1", CustomerID: "c1", Items: items, PaymentToken: "tok_ok", Revision: 1, // the charge_payment revision; revision 2: saga2_test.go
		// The harness gives these options to the orchestrator worker.
		Options: workflows.Options{ApprovalThresholdCents: 100000, ApprovalTimeout: time.Hour, CompensationAlertAttempts: 3,
			CompensationMaxInterval: 10 * time.Second}}
}

func stepStatuses(st workflows.State) map[string]workflows.StepStatus {
	m := map[string]workflows.StepStatus{}
	for _, s := range st.Steps {
		m[s.Name] = s.Status
	}
	return m
}

func stepOf(st workflows.State, name string) workflows.StepState {
	for _, s := range st.Steps {
		if s.Name == name {
			return s
		}
	}
	return workflows.StepState{}
}

var errTransient = errors.New("connection reset")

// requireForward checks the forward path ran: the steps up to the pivot in
// order, then the retriable steps, which run concurrently.
func requireForward(t *testing.T, calls []string) {
	t.Helper()
	require.Len(t, calls, 5)
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName, activities.ChargePaymentName}, calls[:3])
	require.ElementsMatch(t, []string{activities.ConfirmOrderName, activities.CommitInventoryName}, calls[3:])
}

func TestSuccess(t *testing.T) {
	h := newHarness(t)
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompleted, st.Status)
	requireForward(t, h.distinctCalls())
	require.EqualValues(t, 5000, st.TotalCents)
	require.Equal(t, "ch_default-test-workflow-id/charge_payment", st.ChargeID)
	require.Equal(t, map[string]workflows.StepStatus{
		workflows.StepCreateOrder: workflows.StepCompleted, workflows.StepReserveInventory: workflows.StepCompleted,
		workflows.StepApproval: workflows.StepSkipped, workflows.StepChargePayment: workflows.StepCompleted,
		workflows.StepConfirmOrder: workflows.StepCompleted, workflows.StepCommitInventory: workflows.StepCompleted,
	}, stepStatuses(st))
	require.EqualValues(t, 1, stepOf(st, workflows.StepChargePayment).Attempts)
}

// TestRetriableStepsRunConcurrently: confirm_order and commit_inventory each
// take an hour; run concurrently the saga ends an hour after the pivot.
func TestRetriableStepsRunConcurrently(t *testing.T) {
	h := newHarness(t)
	h.retriableWait = time.Hour
	start := h.env.Now()
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompleted, st.Status)
	elapsed := h.env.Now().Sub(start)
	require.GreaterOrEqual(t, elapsed, time.Hour)
	require.Less(t, elapsed, 2*time.Hour, "the retriable steps ran one after the other")
}

func TestOutOfStockCompensatesCreatedOrder(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ReserveInventoryName] = func(int32) error {
		return temporal.NewNonRetryableApplicationError("sku-1: 0 available, 5 requested: out of stock", activities.ErrOutOfStock, nil)
	}
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.Contains(t, st.FailureReason, "out of stock")
	// The failed reservation had no effect: only the order is compensated.
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName, activities.RejectOrderName}, h.distinctCalls())
	require.Equal(t, workflows.StepFailed, stepOf(st, workflows.StepReserveInventory).Status)
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepCreateOrder).Status)
}

// TestOrderAndReservationStartTogether: the reservation starts with the
// order's creation, so when the creation fails for good the stock reserved
// meanwhile is released (the failed creation itself had no effect).
func TestOrderAndReservationStartTogether(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.CreateOrderName] = func(int32) error {
		return temporal.NewNonRetryableApplicationError("invalid order", activities.ErrInvalidInput, nil)
	}
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName, activities.ReleaseInventoryName}, h.distinctCalls())
	require.Equal(t, workflows.StepFailed, stepOf(st, workflows.StepCreateOrder).Status)
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepReserveInventory).Status)
}

func TestDeclinedCompensatesInReverseOrder(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ChargePaymentName] = func(int32) error {
		return temporal.NewNonRetryableApplicationError("card declined", activities.ErrPaymentDeclined, nil)
	}
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.Equal(t, "card declined", st.FailureReason)
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName, activities.ChargePaymentName,
		activities.ReleaseInventoryName, activities.RejectOrderName}, h.distinctCalls())
	require.Equal(t, workflows.StepFailed, stepOf(st, workflows.StepChargePayment).Status)
	require.Equal(t, 1, h.count(activities.ChargePaymentName), "a decline is not retried")
}

// TestADeclineAfterRetriesShowsItsAttempts: a business failure on the
// third attempt shows 3 attempts, as the services' workers record them.
func TestADeclineAfterRetriesShowsItsAttempts(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ChargePaymentName] = func(attempt int32) error {
		if attempt <= 2 {
			return temporal.NewApplicationError("provider answered 503", "ProviderUnavailable")
		}
		return temporal.NewNonRetryableApplicationError("card declined", activities.ErrPaymentDeclined, nil)
	}
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	charge := stepOf(st, workflows.StepChargePayment)
	require.Equal(t, workflows.StepFailed, charge.Status)
	require.EqualValues(t, 3, charge.Attempts)
	require.Equal(t, "card declined", charge.LastError)
}

func TestTransientPaymentFailuresAreRetried(t *testing.T) {
	for name, fail := range map[string]error{
		"flaky 503":      temporal.NewApplicationError("provider answered 503", "ProviderUnavailable"),
		"client timeout": context.DeadlineExceeded,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.fail[activities.ChargePaymentName] = func(attempt int32) error {
				if attempt <= 2 {
					return fail
				}
				return nil
			}
			st, err := h.run(input(5000))
			require.NoError(t, err)
			require.Equal(t, workflows.StatusCompleted, st.Status)
			require.EqualValues(t, 3, stepOf(st, workflows.StepChargePayment).Attempts)
			requireForward(t, h.distinctCalls())
		})
	}
}

func TestApprovalGranted(t *testing.T) {
	h := newHarness(t)
	var during workflows.State
	h.env.RegisterDelayedCallback(func() { during = h.query() }, 30*time.Second)
	approve := h.update(time.Minute, workflows.UpdateApprove)
	st, err := h.run(input(200000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusAwaitingApproval, during.Status)
	require.Equal(t, workflows.StepRunning, stepOf(during, workflows.StepApproval).Status)
	require.True(t, approve.accepted)
	require.Equal(t, workflows.StatusCompleted, st.Status)
	require.Equal(t, workflows.StepCompleted, stepOf(st, workflows.StepApproval).Status)
}

func TestApproveWhenNotAwaitingIsRejected(t *testing.T) {
	h := newHarness(t)
	h.chargeWait = time.Minute
	approve := h.update(30*time.Second, workflows.UpdateApprove)
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.ErrorContains(t, approve.rejected, "not awaiting approval")
	require.Equal(t, workflows.StatusCompleted, st.Status)
}

func TestApprovalBySignal(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalApprove, nil) }, time.Minute)
	st, err := h.run(input(200000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompleted, st.Status)
}

func TestApprovalTimeoutCancels(t *testing.T) {
	h := newHarness(t)
	st, err := h.run(input(200000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCancelled, st.Status)
	require.Equal(t, "approval timed out after 1h0m0s", st.FailureReason)
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName,
		activities.ReleaseInventoryName, activities.RejectOrderName}, h.distinctCalls())
}

func TestCancelBeforePivot(t *testing.T) {
	h := newHarness(t)
	cancel := h.update(time.Minute, workflows.UpdateCancel, "customer changed their mind")
	st, err := h.run(input(200000))
	require.NoError(t, err)
	require.True(t, cancel.accepted)
	require.Equal(t, workflows.StatusCancelled, st.Status)
	require.Equal(t, "customer changed their mind", st.FailureReason)
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName,
		activities.ReleaseInventoryName, activities.RejectOrderName}, h.distinctCalls())
}

func TestTemporalCancellationCompensates(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Minute)
	st, err := h.run(input(200000))
	require.True(t, temporal.IsCanceledError(err), "workflow ends canceled, got %v", err)
	require.Equal(t, workflows.StatusCancelled, st.Status)
	require.Equal(t, []string{activities.CreateOrderName, activities.ReserveInventoryName,
		activities.ReleaseInventoryName, activities.RejectOrderName}, h.distinctCalls())

	// The close event records only the canceled error's details: they are
	// the final State, so the saga is read without replaying it.
	var canceled *temporal.CanceledError
	require.ErrorAs(t, err, &canceled)
	var recorded workflows.State
	require.NoError(t, canceled.Details(&recorded))
	// As the server records it: JSON (the test environment keeps the value).
	want, err := json.Marshal(st)
	require.NoError(t, err)
	got, err := json.Marshal(recorded)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

func TestCancelAfterPivotIsRefused(t *testing.T) {
	h := newHarness(t)
	h.chargeWait = time.Minute
	cancel := h.update(30*time.Second, workflows.UpdateCancel, "too late")
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 40*time.Second)
	st, err := h.run(input(5000))
	require.NoError(t, err, "a Temporal cancellation after the pivot is ignored")
	require.Error(t, cancel.rejected)
	require.Contains(t, cancel.rejected.Error(), "payment has started")
	require.Equal(t, workflows.StatusCompleted, st.Status)
}

// declineWithFlakyRelease makes the card declined and the stock's release
// fail its first two attempts.
func (h *harness) declineWithFlakyRelease() {
	h.fail[activities.ChargePaymentName] = func(int32) error {
		return temporal.NewNonRetryableApplicationError("card declined", activities.ErrPaymentDeclined, nil)
	}
	h.fail[activities.ReleaseInventoryName] = func(attempt int32) error {
		if attempt < 3 {
			return errTransient
		}
		return nil
	}
}

func TestCompensationRetriedWithinBound(t *testing.T) {
	h := newHarness(t)
	h.declineWithFlakyRelease()
	var statuses []workflows.Status
	for i := 1; i < 30; i++ {
		h.env.RegisterDelayedCallback(func() { statuses = append(statuses, h.query().Status) }, time.Duration(i)*time.Second/2)
	}
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)
	require.NotContains(t, statuses, workflows.StatusFailed)
	require.EqualValues(t, 3, stepOf(st, workflows.StepReserveInventory).CompensationAttempts)
	require.Equal(t, workflows.StepCompensated, stepOf(st, workflows.StepReserveInventory).Status)
}

func TestCompensationPastBoundShowsFailedThenRecovers(t *testing.T) {
	h := newHarness(t)
	h.fail[activities.ChargePaymentName] = func(int32) error {
		return temporal.NewNonRetryableApplicationError("card declined", activities.ErrPaymentDeclined, nil)
	}
	h.fail[activities.ReleaseInventoryName] = func(attempt int32) error {
		if attempt <= 3 || h.releaseFailures() < 6 {
			return errTransient
		}
		return nil
	}
	var failed workflows.State
	h.env.RegisterDelayedCallback(func() { failed = h.query() }, 20*time.Second)
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusFailed, failed.Status, "past the bound the saga needs attention")
	require.Equal(t, "connection reset", stepOf(failed, workflows.StepReserveInventory).CompensationError)
	require.Equal(t, workflows.StatusCompensated, st.Status, "and recovers when the compensation succeeds")
	require.Empty(t, stepOf(st, workflows.StepReserveInventory).CompensationError)
	// Compensation continued with the order after the inventory recovered.
	require.Equal(t, activities.RejectOrderName, h.distinctCalls()[len(h.distinctCalls())-1])
}

func (h *harness) releaseFailures() int {
	return h.count(activities.ReleaseInventoryName) - 1 // the call being decided is already recorded
}
