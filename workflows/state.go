package workflows

import (
	"time"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/saga"
)

// The saga's statuses and step states are the engine's (package saga); the
// order saga adds AWAITING_APPROVAL, its approval gate's status.
type (
	Status     = saga.Status
	StepStatus = saga.StepStatus
	StepState  = saga.StepState
	Resolution = saga.Resolution
	Kind       = saga.Kind
)

const (
	StatusRunning          = saga.StatusRunning
	StatusAwaitingApproval = Status("AWAITING_APPROVAL")
	StatusCompleted        = saga.StatusCompleted
	StatusCompensating     = saga.StatusCompensating
	StatusCompensated      = saga.StatusCompensated
	StatusCancelled        = saga.StatusCancelled
	StatusFailed           = saga.StatusFailed

	StepPending      = saga.StepPending
	StepRunning      = saga.StepRunning
	StepCompleted    = saga.StepCompleted
	StepFailed       = saga.StepFailed
	StepCompensating = saga.StepCompensating
	StepCompensated  = saga.StepCompensated
	StepSkipped      = saga.StepSkipped
	StepResolved     = saga.StepResolved

	Compensatable = saga.Compensatable
	Pivot         = saga.Pivot
	Retriable     = saga.Retriable
)

// Statuses lists every Status.
func Statuses() []Status {
	return []Status{StatusRunning, StatusAwaitingApproval, StatusCompleted, StatusCompensating, StatusCompensated,
		StatusCancelled, StatusFailed}
}

// State is the saga's live state, answered by QueryState and returned as
// the workflow's result: the engine's Progress (status, failure reason,
// steps) and the order's own data.
type State struct {
	OrderID string `json:"order_id"`
	// ClientID names the API client that placed the order.
	ClientID   string `json:"client_id,omitempty"`
	CustomerID string `json:"customer_id"`
	saga.Progress
	TotalCents int64            `json:"total_cents"`
	Lines      []ordersaga.Line `json:"lines"`
	// ChargeID is the charge (revisions 0 and 1) or the capture
	// (revision 2 on) that took the payment.
	ChargeID string `json:"charge_id,omitempty"`
	// AuthorizationID is the hold on the card (revision 2 on).
	AuthorizationID string `json:"authorization_id,omitempty"`
	// ApprovedBy names the client that approved the order, if one did
	// through the approve update.
	ApprovedBy string `json:"approved_by,omitempty"`

	// in is the saga's input, which its steps read; it is not reported.
	in Input
}

// Input starts a saga.
type Input struct {
	OrderID string `json:"order_id"`
	// ClientID names the API client that placed the order; it owns it.
	ClientID     string           `json:"client_id,omitempty"`
	CustomerID   string           `json:"customer_id"`
	Items        []ordersaga.Item `json:"items"`
	PaymentToken string           `json:"payment_token"`
	// Options are read by sagas of revisions 0 and 1 only: from revision 2
	// on a saga takes its options from the orchestrator's worker, never
	// from what its starter says (see Revision). Starters leave it zero.
	Options Options `json:"options"`
	// Revision is the revision of the saga's definition its starter asked
	// for (Revision; 0 in sagas started before revisions existed). It is
	// fixed in the input, so the saga runs the same Definition on every
	// replay: see Revision.
	Revision int `json:"revision,omitempty"`
}

// Revision is the revision of the saga's definition new sagas run
// (starters set Input.Revision to it). Definition(revision) returns each
// revision's steps and engine settings:
//   - revision 2 authorizes the card before the approval and captures it
//     after (authorize_payment, then capture_payment, the pivot), holds the
//     reservation to the client's share of the stock, and takes its Options
//     from the orchestrator worker's configuration (Config.Options, recorded
//     once per saga by a workflow.SideEffect), not from its input;
//   - revision 1 starts the reservation with the order's creation
//     (WithPrevious) and runs both engine changes (parallel retriable steps,
//     independent compensations) without recording a workflow.GetVersion
//     marker for them, and so without the TemporalChangeVersion search
//     attribute upsert (a visibility write) that each marker brings;
//   - revision 0 runs its steps one after the other and decides the engine
//     changes by their markers, as it was recorded.
//
// A change to the saga raises Revision and adds a case to Definition: a
// saga keeps the revision it started with, so its replay never changes.
const Revision = 2

// Options are the saga's tunables. From revision 2 on the orchestrator's
// worker gives them (Config.Options), and each saga records the values it
// started with, so replay sees the same ones; sagas of revisions 0 and 1
// read them from their input (Input.Options), as they were recorded.
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
	// PaymentRetryBudget bounds each payment step (the charge; from
	// revision 2 on the authorization, and the capture, the pivot) from its
	// first attempt to its last: transient provider failures are retried
	// until it runs out, then the saga compensates. Zero takes
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
