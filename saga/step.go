package saga

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// Kind is a step's role in the saga (Garcia-Molina & Salem's vocabulary).
type Kind string

const (
	// Compensatable steps run before the pivot and are undone, in reverse
	// order, when the saga fails or is cancelled.
	Compensatable Kind = "compensatable"
	// Pivot is the point of no return: once it starts the saga cannot be
	// cancelled. Its compensation runs only if it ends without a definite
	// answer (its retry budget ran out).
	Pivot Kind = "pivot"
	// Retriable steps follow the pivot and are retried until they succeed.
	Retriable Kind = "retriable"
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

// Step declares one step of a saga whose state is S. A step is either an
// activity step (Action and Do set) or a gate (Gate set), which the
// workflow runs itself.
type Step[S any] struct {
	Name string
	Kind Kind
	// Label names the step in messages ("payment has started"); the name
	// when empty.
	Label string

	// TaskQueue is the queue of the service whose workers run the step's
	// activities.
	TaskQueue string
	// Action is the activity type of the forward action; Do builds its
	// input and records its result.
	Action string
	Do     Binding[S]
	// Compensation is the activity type that undoes Action, empty when
	// there is nothing to undo; Undo builds its input.
	Compensation string
	Undo         func(s *S, k Keys) any
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

	// Gate, for a step the workflow runs itself, waits for an update.
	Gate *Gate[S]
}

func (s Step[S]) label() string {
	if s.Label != "" {
		return s.Label
	}
	return s.Name
}

// Keys gives a step's bindings the idempotency keys of the saga's steps:
// "<workflow ID>/<step name>", the same for a step's action and its
// compensation, so together they form the service's barrier.
type Keys struct {
	workflowID string
	step       string
}

// Own is the key of the step being bound.
func (k Keys) Own() string { return k.Of(k.step) }

// Of is the key of the saga's step named step (e.g. to commit what an
// earlier step reserved).
func (k Keys) Of(step string) string { return k.workflowID + "/" + step }

// Binding ties a step's action to the saga's state: how its input is built
// and how its result is recorded.
type Binding[S any] struct {
	input  func(s *S, k Keys) any
	result func() any
	record func(s *S, result any)
}

// Bind returns the binding of an action whose input is I and result R:
// input builds the input from the saga's state when the step starts; record
// copies the result into the state when the action succeeds. A result that
// carries an "attempt" field (JSON) tells the saga how many attempts the
// action took. Make one with Bind or BindInput.
func Bind[S, I, R any](input func(s *S, k Keys) I, record func(s *S, r R)) Binding[S] {
	return Binding[S]{
		input:  func(s *S, k Keys) any { return input(s, k) },
		result: func() any { return new(R) },
		record: func(s *S, r any) { record(s, *r.(*R)) },
	}
}

// Undo returns a compensation's input builder from a typed one.
func Undo[S, I any](input func(s *S, k Keys) I) func(s *S, k Keys) any {
	return func(s *S, k Keys) any { return input(s, k) }
}

// BindInput returns the binding of an action whose result the saga does not
// record (it is read only for its attempt).
func BindInput[S, I any](input func(s *S, k Keys) I) Binding[S] {
	return Binding[S]{
		input:  func(s *S, k Keys) any { return input(s, k) },
		result: func() any { return new(attempted) },
		record: func(*S, any) {},
	}
}
