package saga

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names of the query and updates every saga answers.
const (
	// QueryState returns the saga's live state (its state type S).
	QueryState = "state"
	// UpdateCancel cancels the saga and compensates it. Argument: the
	// reason (a string, optional). Refused once the pivot has started or
	// the saga has ended.
	UpdateCancel = "cancel"
	// UpdateRetryCompensation retries a compensation in progress at once,
	// skipping the wait before its next attempt. Argument:
	// CompensationRequest. Refused unless the step is being compensated.
	UpdateRetryCompensation = "retry-compensation"
	// UpdateResolveCompensation records that an operator fixed a
	// compensation's effect by hand: the saga stops retrying it, records the
	// Resolution (Definition.Resolved) and goes on to its end state.
	// Argument: CompensationRequest with By and Reason. Refused unless the
	// step is being compensated.
	UpdateResolveCompensation = "resolve-compensation"
	// UpdateAwaitStep waits until a step has an outcome — it completed,
	// failed, was skipped, or the saga is compensating or has ended — and
	// returns the saga's state then. Argument: AwaitRequest. Sent with the
	// start (Update-with-Start), it lets a caller answer as soon as an early
	// step is decided. Refused for an unknown step.
	UpdateAwaitStep = "await-step"
)

// AwaitRequest is the argument of UpdateAwaitStep.
type AwaitRequest struct {
	Step string `json:"step"`
}

// Definition is one revision of a saga: its steps in order and how the
// engine reports on it. A change to the steps of a saga that has recorded
// histories is a new revision: the saga's workflow picks the definition of
// the revision a saga started with, so its replay never changes.
type Definition[S any] struct {
	// Revision is the revision this definition describes (informational:
	// the saga's workflow chooses the definition by it).
	Revision int
	// Steps in execution order; Validate states the rules they follow.
	Steps []Step[S]
	// Noun names one saga in messages ("order": "order is already being
	// cancelled"). Default "saga".
	Noun string
	// Markers lists the engine changes this definition decides by
	// workflow.GetVersion markers: those made after its histories were
	// recorded. Empty for a definition written after them (both changes on,
	// no marker recorded).
	Markers []Change
	// Compensation bounds compensation retries.
	Compensation CompensationPolicy
	// StatusAttribute, if named, mirrors the saga's status into a keyword
	// search attribute (registered in the namespace beforehand).
	StatusAttribute temporal.SearchAttributeKeyKeyword
	// Start, if set, runs once before the first step (e.g. to upsert search
	// attributes the starter did not set). It must not block.
	Start func(ctx workflow.Context, s *S)
	// Details, if set, adds lines to the saga's current details in the Web
	// UI (Temporal markdown), after its status and steps in progress.
	Details func(s *S) string
	// Resolved, if set, is the activity that records an operator's
	// resolution of step's compensation (an audit trail, an event). It is
	// retried until it succeeds.
	Resolved func(s *S, step string, k Keys, r Resolution) Call
	// MetricPrefix starts the names of the saga's metrics ("ordersaga_":
	// ordersaga_sagas_started_total). Default "saga_".
	MetricPrefix string
}

// Change names an engine behaviour added after some sagas were recorded.
type Change string

const (
	// ChangeParallelRetriables runs the retriable steps after the pivot
	// concurrently (they depend only on the pivot). Without it, one after
	// the other.
	ChangeParallelRetriables Change = "parallel-retriable-steps"
	// ChangeIndependentCompensations compensates steps that do not depend on
	// one another concurrently (Step.DependsOn). Without it, one step at a
	// time in reverse order.
	ChangeIndependentCompensations Change = "independent-compensations"
)

// CompensationPolicy bounds compensation retries. A compensation is retried
// until it succeeds or an operator resolves it.
type CompensationPolicy struct {
	// AlertAttempts: after this many failed attempts of one compensation
	// the saga shows StatusFailed (needs attention) and keeps retrying.
	// Default 10.
	AlertAttempts int32
	// MaxInterval caps the backoff between attempts. Default 1m.
	MaxInterval time.Duration
}

// Call is an activity the engine runs on a saga's behalf.
type Call struct {
	TaskQueue string
	Activity  string
	Input     any
	// StartToClose bounds one attempt; default 10s.
	StartToClose time.Duration
}

func (d Definition[S]) noun() string {
	if d.Noun == "" {
		return "saga"
	}
	return d.Noun
}

func (d Definition[S]) metric(name string) string {
	if d.MetricPrefix == "" {
		return "saga_" + name
	}
	return d.MetricPrefix + name
}

func (p CompensationPolicy) withDefaults() CompensationPolicy {
	if p.AlertAttempts <= 0 {
		p.AlertAttempts = 10
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = time.Minute
	}
	return p
}

// step returns the step named name.
func (d Definition[S]) step(name string) (Step[S], bool) {
	for _, s := range d.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step[S]{}, false
}
