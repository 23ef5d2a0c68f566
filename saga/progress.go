package saga

import "time"

// Status is a saga's overall status, as its state query, its result and the
// status search attribute report it. The engine sets the statuses below; a
// Gate adds its own while it waits (e.g. AWAITING_APPROVAL).
type Status string

const (
	StatusRunning      Status = "RUNNING"
	StatusCompleted    Status = "COMPLETED"
	StatusCompensating Status = "COMPENSATING"
	// StatusCompensated: a business failure was fully compensated.
	StatusCompensated Status = "COMPENSATED"
	// StatusCancelled: cancelled on request, by a Temporal cancellation or
	// by a gate's timeout, and fully compensated.
	StatusCancelled Status = "CANCELLED"
	// StatusFailed means "needs attention": a compensation keeps failing past
	// its alert bound. The saga keeps retrying it and leaves this status when
	// it succeeds or an operator resolves it.
	StatusFailed Status = "FAILED"
)

// Terminal reports whether a saga has ended in s.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusCompensated || s == StatusCancelled
}

// StepStatus is one step's status.
type StepStatus string

const (
	StepPending      StepStatus = "pending"
	StepRunning      StepStatus = "running"
	StepCompleted    StepStatus = "completed"
	StepFailed       StepStatus = "failed"
	StepCompensating StepStatus = "compensating"
	StepCompensated  StepStatus = "compensated"
	StepSkipped      StepStatus = "skipped"
	// StepResolved: the compensation was abandoned because an operator
	// fixed its effect by hand (see Resolution).
	StepResolved StepStatus = "resolved"
)

// StepState is one step's live state.
type StepState struct {
	Name   string     `json:"name"`
	Kind   Kind       `json:"kind"`
	Status StepStatus `json:"status"`
	// Attempts is how many attempts the action took (known once it ends).
	Attempts int32 `json:"attempts"`
	// CompensationAttempts is how many attempts the compensation took.
	CompensationAttempts int32 `json:"compensation_attempts,omitempty"`
	// LastError is the action's last error.
	LastError string `json:"last_error,omitempty"`
	// ErrorType is the application error type of the action's failure
	// (a business failure's type, e.g. OutOfStock), when it had one.
	ErrorType string `json:"error_type,omitempty"`
	// CompensationError is the compensation's last error while it keeps
	// failing; cleared when it succeeds.
	CompensationError string `json:"compensation_error,omitempty"`
	// Resolution records who resolved the compensation by hand, when and
	// why; set only when Status is StepResolved.
	Resolution *Resolution `json:"resolution,omitempty"`
}

// Resolution records that a person fixed a stuck compensation's effect by
// hand, so the saga stopped retrying it.
type Resolution struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Progress is the part of a saga's state the engine owns: its status, why it
// failed, and every step's state. A saga's state type embeds it, so the
// state query and the workflow's result carry it beside the saga's own data
// (its JSON fields are status, failure_reason and steps).
type Progress struct {
	Status        Status      `json:"status"`
	FailureReason string      `json:"failure_reason,omitempty"`
	Steps         []StepState `json:"steps"`
}

// SagaProgress returns p; through embedding it makes a state type usable by
// Run.
func (p *Progress) SagaProgress() *Progress { return p }

// Step returns the state of the step named name, or nil.
func (p *Progress) Step(name string) *StepState {
	for i := range p.Steps {
		if p.Steps[i].Name == name {
			return &p.Steps[i]
		}
	}
	return nil
}

// State is what Run needs of a saga's state type: a pointer to a struct
// embedding Progress.
type State[S any] interface {
	*S
	SagaProgress() *Progress
}
