package workflows

import (
	"time"

	"github.com/ordersaga/ordersaga"
)

// Status is the saga's overall status, as the query, the API and the
// SagaStatus search attribute report it.
type Status string

const (
	StatusRunning          Status = "RUNNING"
	StatusAwaitingApproval Status = "AWAITING_APPROVAL"
	StatusCompleted        Status = "COMPLETED"
	StatusCompensating     Status = "COMPENSATING"
	// StatusCompensated: a business failure (out of stock, declined) was
	// fully compensated.
	StatusCompensated Status = "COMPENSATED"
	// StatusCancelled: cancelled on request or by the approval timeout, and
	// fully compensated.
	StatusCancelled Status = "CANCELLED"
	// StatusFailed means "needs attention": a compensation keeps failing past
	// its bound. The saga keeps retrying it and leaves this status when it
	// succeeds.
	StatusFailed Status = "FAILED"
)

// Statuses lists every Status.
func Statuses() []Status {
	return []Status{StatusRunning, StatusAwaitingApproval, StatusCompleted, StatusCompensating, StatusCompensated,
		StatusCancelled, StatusFailed}
}

// Terminal reports whether the saga has ended in s.
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

// State is the saga's live state, answered by QueryState and returned as
// the workflow's result.
type State struct {
	OrderID string `json:"order_id"`
	// ClientID names the API client that placed the order.
	ClientID      string           `json:"client_id,omitempty"`
	CustomerID    string           `json:"customer_id"`
	Status        Status           `json:"status"`
	FailureReason string           `json:"failure_reason,omitempty"`
	TotalCents    int64            `json:"total_cents"`
	Lines         []ordersaga.Line `json:"lines"`
	ChargeID      string           `json:"charge_id,omitempty"`
	// ApprovedBy names the client that approved the order, if one did
	// through the approve update.
	ApprovedBy string      `json:"approved_by,omitempty"`
	Steps      []StepState `json:"steps"`
}

// Input starts a saga.
type Input struct {
	OrderID string `json:"order_id"`
	// ClientID names the API client that placed the order; it owns it.
	ClientID     string           `json:"client_id,omitempty"`
	CustomerID   string           `json:"customer_id"`
	Items        []ordersaga.Item `json:"items"`
	PaymentToken string           `json:"payment_token"`
	Options      Options          `json:"options"`
	// Revision is the revision of the saga's code its starter asked for
	// (Revision; 0 in sagas started before revisions existed). It is fixed
	// in the input, so a change enabled by a revision needs no
	// workflow.GetVersion marker: see Revision.
	Revision int `json:"revision,omitempty"`
}

// Revision is the revision of the saga's code new sagas run (starters set
// Input.Revision to it). A saga of revision 1 or more runs every change made
// up to revision 1 — the retriable steps concurrently
// (parallel-retriable-steps), independent compensations side by side
// (independent-compensations), the reservation started with the order's
// creation (WithPrevious) — without recording a workflow.GetVersion marker
// for them, and so without the TemporalChangeVersion search attribute
// upsert (a visibility write) that each marker brings. A saga of revision 0
// decides the first two by their markers, as it was recorded, and runs its
// steps one after the other. A later change raises Revision and checks
// Input.Revision >= its revision: a saga keeps the revision it started
// with, so its replay never changes.
const Revision = 1

// Options are the saga's tunables, fixed at start (they are part of the
// recorded input, so replay sees the same values).
type Options struct {
	// ApprovalThresholdCents: orders totalling at least this wait for an
	// approval. Zero takes DefaultApprovalThresholdCents; negative disables
	// approvals.
	ApprovalThresholdCents int64 `json:"approval_threshold_cents"`
	// ApprovalTimeout cancels an order still unapproved after it. Zero takes
	// DefaultApprovalTimeout.
	ApprovalTimeout time.Duration `json:"approval_timeout"`
	// CompensationAlertAttempts: after this many failed attempts of one
	// compensation the saga reports FAILED (needs attention) and keeps
	// retrying. Zero takes DefaultCompensationAlertAttempts.
	CompensationAlertAttempts int32 `json:"compensation_alert_attempts"`
	// CompensationMaxInterval caps the backoff between compensation
	// attempts. Zero takes DefaultCompensationMaxInterval.
	CompensationMaxInterval time.Duration `json:"compensation_max_interval"`
	// PaymentRetryBudget bounds the charge (the pivot) from its first
	// attempt to its last: transient provider failures are retried until it
	// runs out, then the saga compensates. Zero takes
	// DefaultPaymentRetryBudget.
	PaymentRetryBudget time.Duration `json:"payment_retry_budget"`
}

// Defaults of Options.
const (
	DefaultApprovalThresholdCents    = 100000
	DefaultApprovalTimeout           = 24 * time.Hour
	DefaultCompensationAlertAttempts = 10
	DefaultCompensationMaxInterval   = time.Minute
	DefaultPaymentRetryBudget        = 15 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.ApprovalThresholdCents == 0 {
		o.ApprovalThresholdCents = DefaultApprovalThresholdCents
	}
	if o.ApprovalTimeout <= 0 {
		o.ApprovalTimeout = DefaultApprovalTimeout
	}
	if o.CompensationAlertAttempts <= 0 {
		o.CompensationAlertAttempts = DefaultCompensationAlertAttempts
	}
	if o.CompensationMaxInterval <= 0 {
		o.CompensationMaxInterval = DefaultCompensationMaxInterval
	}
	if o.PaymentRetryBudget <= 0 {
		o.PaymentRetryBudget = DefaultPaymentRetryBudget
	}
	return o
}

func (s *State) step(name string) *StepState {
	for i := range s.Steps {
		if s.Steps[i].Name == name {
			return &s.Steps[i]
		}
	}
	panic("workflows: unknown step " + name) // Definition and state are built together
}
