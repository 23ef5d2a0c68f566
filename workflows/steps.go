package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/activities"
)

// Kind is a step's role in the saga (Garcia-Molina & Salem's vocabulary).
type Kind string

const (
	// Compensatable steps run before the pivot and are undone, in reverse
	// order, when the saga fails or is cancelled.
	Compensatable Kind = "compensatable"
	// Pivot is the point of no return: once it succeeds the saga can only
	// go forward. Its compensation runs only if a later step fails for good.
	Pivot Kind = "pivot"
	// Retriable steps follow the pivot and are retried until they succeed.
	Retriable Kind = "retriable"
)

// Runner says who executes a step.
type Runner string

const (
	// RunActivity: the step's Action runs as an activity on TaskQueue.
	RunActivity Runner = "activity"
	// RunApproval: the workflow itself waits for an approval when the order
	// total reaches the approval threshold.
	RunApproval Runner = "approval"
)

// Step names, also used in idempotency keys (<workflow id>/<step name>).
const (
	StepCreateOrder      = "create_order"
	StepReserveInventory = "reserve_inventory"
	StepApproval         = "approval"
	StepChargePayment    = "charge_payment"
	StepConfirmOrder     = "confirm_order"
	StepCommitInventory  = "commit_inventory"
)

// RetryPolicy is a step's Temporal retry policy.
type RetryPolicy struct {
	InitialInterval    time.Duration
	MaximumInterval    time.Duration
	BackoffCoefficient float64
	// MaximumAttempts bounds the attempts; 0 means unlimited.
	MaximumAttempts int32
	// NonRetryableErrorTypes are application error types that end the step
	// at once. They are the step's business failures: the action had no
	// effect, so the step itself needs no compensation.
	NonRetryableErrorTypes []string
}

// Temporal returns the policy in the SDK's form.
func (p RetryPolicy) Temporal() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        p.InitialInterval,
		MaximumInterval:        p.MaximumInterval,
		BackoffCoefficient:     p.BackoffCoefficient,
		MaximumAttempts:        p.MaximumAttempts,
		NonRetryableErrorTypes: p.NonRetryableErrorTypes,
	}
}

// Timeouts are a step's activity timeouts, for its action and compensation.
type Timeouts struct {
	// StartToClose bounds one attempt.
	StartToClose time.Duration
	// ScheduleToClose bounds all attempts together (a retry budget); 0
	// means unbounded. When it runs out the step ends without a definite
	// answer, so it is compensated.
	ScheduleToClose time.Duration
}

// Step declares one step of the saga.
type Step struct {
	Name   string
	Kind   Kind
	Runner Runner
	// TaskQueue is the queue of the service whose workers run the
	// activities. Empty for workflow-run steps.
	TaskQueue string
	// Action is the activity type of the forward action.
	Action string
	// Compensation is the activity type that undoes Action; empty when there
	// is nothing to undo.
	Compensation string
	// DependsOn names earlier steps whose effects this step's effects rest
	// on. Its compensation ends before theirs starts; compensations of steps
	// that do not depend on one another run concurrently, so one stuck
	// compensation does not hold back an independent one.
	DependsOn []string
	// WithPrevious starts the step together with the step before it (both
	// activity steps of the same kind): it needs nothing from that step's
	// result. The saga goes on when both have ended; their compensations
	// still follow DependsOn.
	WithPrevious bool
	Retry        RetryPolicy
	Timeouts     Timeouts
}

var (
	quickRetry = RetryPolicy{
		InitialInterval:    200 * time.Millisecond,
		MaximumInterval:    10 * time.Second,
		BackoffCoefficient: 2,
		MaximumAttempts:    10,
	}
	foreverRetry = RetryPolicy{
		InitialInterval:    500 * time.Millisecond,
		MaximumInterval:    time.Minute,
		BackoffCoefficient: 2,
	}
	quick = Timeouts{StartToClose: 10 * time.Second}
)

func withNonRetryable(p RetryPolicy, types ...string) RetryPolicy {
	p.NonRetryableErrorTypes = types
	return p
}

// Definition returns the order fulfillment saga's steps in order. Each call
// returns a fresh slice.
func Definition() []Step {
	return []Step{
		{
			Name: StepCreateOrder, Kind: Compensatable, Runner: RunActivity,
			TaskQueue: TaskQueueOrder, Action: activities.CreateOrderName, Compensation: activities.RejectOrderName,
			Retry:    withNonRetryable(quickRetry, activities.ErrInvalidInput, activities.ErrAlreadyCompensated),
			Timeouts: quick,
		},
		{
			Name: StepReserveInventory, Kind: Compensatable, Runner: RunActivity,
			TaskQueue: TaskQueueInventory, Action: activities.ReserveInventoryName, Compensation: activities.ReleaseInventoryName,
			// The reservation needs only the order's items: it starts with
			// the order's creation. Its release still comes before the
			// order's rejection.
			DependsOn: []string{StepCreateOrder}, WithPrevious: true,
			Retry: withNonRetryable(quickRetry, activities.ErrOutOfStock, activities.ErrUnknownSKU,
				activities.ErrInvalidInput, activities.ErrAlreadyCompensated),
			Timeouts: quick,
		},
		{Name: StepApproval, Kind: Compensatable, Runner: RunApproval},
		{
			// The charge rides out a provider outage: transient failures
			// (5xx, timeouts, an open circuit) are retried without an
			// attempt limit, at most 30s apart, until its retry budget
			// (ScheduleToClose, set from Options.PaymentRetryBudget when the
			// saga starts) runs out. A decline ends it at once.
			Name: StepChargePayment, Kind: Pivot, Runner: RunActivity,
			TaskQueue: TaskQueuePayment, Action: activities.ChargePaymentName, Compensation: activities.RefundPaymentName,
			// The charge is for the order; it does not rest on the stock
			// staying reserved, so a refund and a release run side by side.
			DependsOn: []string{StepCreateOrder},
			Retry: RetryPolicy{
				InitialInterval: 500 * time.Millisecond, MaximumInterval: 30 * time.Second, BackoffCoefficient: 2,
				NonRetryableErrorTypes: []string{activities.ErrPaymentDeclined, activities.ErrInvalidInput,
					activities.ErrAlreadyCompensated},
			},
			Timeouts: Timeouts{StartToClose: 30 * time.Second, ScheduleToClose: DefaultPaymentRetryBudget},
		},
		{
			Name: StepConfirmOrder, Kind: Retriable, Runner: RunActivity,
			TaskQueue: TaskQueueOrder, Action: activities.ConfirmOrderName,
			Retry: foreverRetry, Timeouts: quick,
		},
		{
			Name: StepCommitInventory, Kind: Retriable, Runner: RunActivity,
			TaskQueue: TaskQueueInventory, Action: activities.CommitInventoryName,
			Retry: foreverRetry, Timeouts: quick,
		},
	}
}

// Validate reports every rule the definition breaks: unique names, exactly
// one pivot, compensatable steps before it and retriable steps after it,
// retriable steps retried without limit, a pivot bounded in total (by a
// ScheduleToClose or MaximumAttempts: the saga must learn its answer, or give
// up and compensate, in bounded time), activity steps with a queue, an
// action and a timeout, dependencies on earlier steps only, and sane retry
// policies.
func Validate(steps []Step) error {
	var errs []error
	bad := func(step Step, format string, args ...any) {
		errs = append(errs, fmt.Errorf("step %q: %s", step.Name, fmt.Sprintf(format, args...)))
	}
	if len(steps) == 0 {
		return errors.New("saga has no steps")
	}
	seen := map[string]bool{}
	pivots := 0
	for i, step := range steps {
		if step.WithPrevious && (i == 0 || step.Runner != RunActivity || steps[i-1].Runner != RunActivity || steps[i-1].Kind != step.Kind) {
			bad(step, "starts with the previous step: both must be activity steps of the same kind")
		}
		if step.Name == "" {
			bad(step, "has no name")
		}
		if seen[step.Name] {
			bad(step, "name used twice")
		}
		for _, dep := range step.DependsOn {
			if !seen[dep] {
				bad(step, "depends on %q, which is not an earlier step", dep)
			}
		}
		seen[step.Name] = true
		switch step.Kind {
		case Pivot:
			pivots++
			if step.Runner == RunActivity && step.Timeouts.ScheduleToClose <= 0 && step.Retry.MaximumAttempts == 0 {
				bad(step, "pivot needs a bounded total: a ScheduleToClose (its retry budget) or MaximumAttempts")
			}
		case Compensatable:
			if pivots > 0 {
				bad(step, "compensatable step after the pivot")
			}
		case Retriable:
			if pivots == 0 {
				bad(step, "retriable step before the pivot")
			}
			if step.Compensation != "" {
				bad(step, "retriable step declares a compensation")
			}
			if step.Retry.MaximumAttempts != 0 {
				bad(step, "retriable step must retry without limit (MaximumAttempts 0), has %d", step.Retry.MaximumAttempts)
			}
		default:
			bad(step, "unknown kind %q", step.Kind)
		}
		switch step.Runner {
		case RunActivity:
			if step.TaskQueue == "" || step.Action == "" {
				bad(step, "activity step needs a task queue and an action")
			}
			if step.Timeouts.StartToClose <= 0 {
				bad(step, "activity step needs a StartToClose timeout")
			}
			if p := step.Retry; p.BackoffCoefficient < 1 || p.InitialInterval <= 0 || p.MaximumInterval < p.InitialInterval || p.MaximumAttempts < 0 {
				bad(step, "retry policy needs InitialInterval > 0, MaximumInterval >= InitialInterval, BackoffCoefficient >= 1, MaximumAttempts >= 0")
			}
		case RunApproval:
			if step.TaskQueue != "" || step.Action != "" || step.Compensation != "" {
				bad(step, "approval step runs in the workflow: no task queue, action or compensation")
			}
			if step.Kind != Compensatable {
				bad(step, "approval step must come before the pivot")
			}
		default:
			bad(step, "unknown runner %q", step.Runner)
		}
	}
	if pivots != 1 {
		errs = append(errs, fmt.Errorf("saga needs exactly one pivot step, has %d", pivots))
	}
	return errors.Join(errs...)
}
