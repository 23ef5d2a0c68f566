package workflows

import (
	"slices"
	"time"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/saga"
)

// Step names, also used in idempotency keys (<workflow id>/<step name>).
const (
	StepCreateOrder      = "create_order"
	StepReserveInventory = "reserve_inventory"
	StepApproval         = "approval"
	StepChargePayment    = "charge_payment"
	// StepAuthorizePayment and StepCapturePayment replace
	// StepChargePayment from revision 2 on.
	StepAuthorizePayment = "authorize_payment"
	StepCapturePayment   = "capture_payment"
	StepConfirmOrder     = "confirm_order"
	StepCommitInventory  = "commit_inventory"
)

var (
	quickRetry = saga.RetryPolicy{
		InitialInterval:    200 * time.Millisecond,
		MaximumInterval:    10 * time.Second,
		BackoffCoefficient: 2,
		MaximumAttempts:    10,
	}
	foreverRetry = saga.RetryPolicy{
		InitialInterval:    500 * time.Millisecond,
		MaximumInterval:    time.Minute,
		BackoffCoefficient: 2,
	}
	quick = saga.Timeouts{StartToClose: 10 * time.Second}
)

func withNonRetryable(p saga.RetryPolicy, types ...string) saga.RetryPolicy {
	p.NonRetryableErrorTypes = types
	return p
}

// Definition returns the order fulfillment saga of revision (see Revision)
// with opts (defaults applied to its zero fields): its steps, in order, as a
// table of data, and how the engine reports on it. Each call returns a fresh
// definition.
func Definition(revision int, opts Options) saga.Definition[State] {
	opts = opts.withDefaults()
	def := saga.Definition[State]{
		Revision: revision,
		Steps:    steps(revision, opts),
		Noun:     "order",
		Compensation: saga.CompensationPolicy{
			AlertAttempts: opts.CompensationAlertAttempts,
			MaxInterval:   opts.CompensationMaxInterval,
		},
		StatusAttribute: SagaStatusKey,
		Start:           ensureSearchAttributes,
		Details:         details,
		Resolved:        recordResolution,
		MetricPrefix:    MetricPrefix,
	}
	if revision < 1 {
		def.Markers = []saga.Change{saga.ChangeParallelRetriables, saga.ChangeIndependentCompensations}
	}
	return def
}

// steps is the step table of revision: up to revision 1 the card is
// charged after the approval (charge_payment, the pivot); from revision 2
// on it is authorized before the approval (authorize_payment, voided when
// the saga compensates) and captured after it (capture_payment, the pivot),
// so a declined card ends the saga before it waits, and releases the stock
// at once.
func steps(revision int, opts Options) []saga.Step[State] {
	create := saga.Step[State]{
		Name: StepCreateOrder, Kind: saga.Compensatable, TaskQueue: TaskQueueOrder,
		Action: activities.CreateOrderName, Do: saga.BindInput(createOrderInput),
		Compensation: activities.RejectOrderName, Undo: saga.Undo(rejectOrderInput),
		Retry:    withNonRetryable(quickRetry, activities.ErrInvalidInput, activities.ErrAlreadyCompensated),
		Timeouts: quick,
	}
	reserve := saga.Step[State]{
		Name: StepReserveInventory, Kind: saga.Compensatable, TaskQueue: TaskQueueInventory,
		Action: activities.ReserveInventoryName, Do: saga.Bind(reserveInput, recordReservation),
		Compensation: activities.ReleaseInventoryName, Undo: saga.Undo(ownReservation),
		// The reservation needs only the order's items: from revision
		// 1 on it starts with the order's creation. Its release still
		// comes before the order's rejection.
		DependsOn: []string{StepCreateOrder}, WithPrevious: revision >= 1,
		Retry: withNonRetryable(quickRetry, activities.ErrOutOfStock, activities.ErrUnknownSKU,
			activities.ErrInvalidInput, activities.ErrAlreadyCompensated),
		Timeouts: quick,
	}
	approval := saga.Step[State]{Name: StepApproval, Kind: saga.Compensatable, Gate: approvalGate(opts)}
	confirm := saga.Step[State]{
		Name: StepConfirmOrder, Kind: saga.Retriable, TaskQueue: TaskQueueOrder,
		Action: activities.ConfirmOrderName, Do: saga.BindInput(confirmInput),
		Retry: foreverRetry, Timeouts: quick,
	}
	commit := saga.Step[State]{
		Name: StepCommitInventory, Kind: saga.Retriable, TaskQueue: TaskQueueInventory,
		Action: activities.CommitInventoryName, Do: saga.BindInput(commitInput),
		Retry: foreverRetry, Timeouts: quick,
	}
	if revision < 2 {
		return []saga.Step[State]{create, reserve, approval, chargeStep(opts), confirm, commit}
	}
	// The reservation states the client, so it is held to its share of
	// the stock (revisions before 2 did not).
	reserve.Do = saga.Bind(reserveOwnedInput, recordReservation)
	authorize, capture := paymentSteps(opts)
	return []saga.Step[State]{create, reserve, authorize, approval, capture, confirm, commit}
}

// paymentRetry rides out a provider outage: transient failures (5xx,
// timeouts, an open circuit) are retried without an attempt limit, at most
// 30s apart, until the step's retry budget (Options.PaymentRetryBudget) runs
// out. A decline ends the step at once.
var paymentRetry = saga.RetryPolicy{
	InitialInterval: 500 * time.Millisecond, MaximumInterval: 30 * time.Second, BackoffCoefficient: 2,
	NonRetryableErrorTypes: []string{activities.ErrPaymentDeclined, activities.ErrInvalidInput,
		activities.ErrAlreadyCompensated},
}

// chargeStep is the payment of revisions 0 and 1: one charge, the pivot.
func chargeStep(opts Options) saga.Step[State] {
	return saga.Step[State]{
		Name: StepChargePayment, Kind: saga.Pivot, Label: "payment", TaskQueue: TaskQueuePayment,
		Action: activities.ChargePaymentName, Do: saga.Bind(chargeInput, recordCharge),
		Compensation: activities.RefundPaymentName, Undo: saga.Undo(refundInput),
		// The charge is for the order; it does not rest on the stock
		// staying reserved, so a refund and a release run side by side.
		DependsOn: []string{StepCreateOrder},
		Retry:     paymentRetry,
		Timeouts:  saga.Timeouts{StartToClose: 30 * time.Second, ScheduleToClose: opts.PaymentRetryBudget},
	}
}

// paymentSteps is the payment from revision 2 on: the authorization holds
// the total on the card before the approval (its compensation voids the
// hold), and the capture, the pivot, takes it after. Each has its own
// retry budget (Options.PaymentRetryBudget).
func paymentSteps(opts Options) (authorize, capture saga.Step[State]) {
	budget := saga.Timeouts{StartToClose: 30 * time.Second, ScheduleToClose: opts.PaymentRetryBudget}
	authorize = saga.Step[State]{
		Name: StepAuthorizePayment, Kind: saga.Compensatable, Label: "payment authorization", TaskQueue: TaskQueuePayment,
		Action: activities.AuthorizePaymentName, Do: saga.Bind(authorizeInput, recordAuthorization),
		Compensation: activities.VoidPaymentName, Undo: saga.Undo(voidInput),
		// The hold is for the order; it does not rest on the stock staying
		// reserved, so a void and a release run side by side.
		DependsOn: []string{StepCreateOrder},
		Retry:     paymentRetry, Timeouts: budget,
	}
	capture = saga.Step[State]{
		Name: StepCapturePayment, Kind: saga.Pivot, Label: "payment", TaskQueue: TaskQueuePayment,
		Action: activities.CapturePaymentName, Do: saga.Bind(captureInput, recordCapture),
		// Compensated only when the capture ends without an answer: the
		// refund runs before the authorization's void.
		Compensation: activities.RefundCaptureName, Undo: saga.Undo(refundCaptureInput),
		DependsOn: []string{StepAuthorizePayment},
		Retry:     paymentRetry, Timeouts: budget,
	}
	return authorize, capture
}

// approvalGate holds orders totalling at least the approval threshold until
// an approver approves them (UpdateApprove or SignalApprove), or cancels
// them after the approval timeout.
func approvalGate(opts Options) *saga.Gate[State] {
	return &saga.Gate[State]{
		What:   "approval",
		Status: StatusAwaitingApproval,
		Needed: func(o *State) bool {
			return opts.ApprovalThresholdCents >= 0 && o.TotalCents >= opts.ApprovalThresholdCents
		},
		Timeout: opts.ApprovalTimeout,
		Update:  UpdateApprove,
		Signal:  SignalApprove,
		Open:    saga.OpenWith(nil, func(o *State, req ApproveRequest) { o.ApprovedBy = req.By }),
	}
}

// ActivityStep names the step, of any revision, whose action or
// compensation (compensation reports which) is the activity type activity.
func ActivityStep(activity string) (step string, compensation, ok bool) {
	for rev := Revision; rev >= 0; rev-- {
		for _, s := range Definition(rev, Options{}).Steps {
			switch activity {
			case s.Action:
				return s.Name, false, true
			case s.Compensation:
				return s.Name, true, true
			}
		}
	}
	return "", false, false
}

// CompensatedSteps lists the steps, of any revision, that have a
// compensation: those an operator may act on.
func CompensatedSteps() []string {
	var out []string
	for rev := Revision; rev >= 0; rev-- {
		for _, s := range Definition(rev, Options{}).Steps {
			if s.Compensation != "" && !slices.Contains(out, s.Name) {
				out = append(out, s.Name)
			}
		}
	}
	return out
}
