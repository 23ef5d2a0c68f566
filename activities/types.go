// Package activities is the contract between the saga and the services:
// the activity type names the saga schedules, their input and result types,
// and the application error types of their business failures. The
// workflow code imports it for names and types only; each service
// implements its activities in services/<name> (a struct whose methods carry
// these names) and maps its domain errors with BusinessError and StepError.
// The package does no I/O.
//
// Every action and compensation takes an idempotency Key derived from the
// workflow ID and the step name. The services use it as a barrier: a
// repeated call is a no-op returning the first result, a compensation
// arriving before (or instead of) its action is recorded so that the
// action, if it arrives later, is refused with ErrAlreadyCompensated.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga"
)

// Activity type names. Workers register the service structs, so these are the
// method names; a test checks that they resolve.
const (
	CreateOrderName      = "CreateOrder"
	RejectOrderName      = "RejectOrder"
	ConfirmOrderName     = "ConfirmOrder"
	ReserveInventoryName = "ReserveInventory"
	ReleaseInventoryName = "ReleaseInventory"
	CommitInventoryName  = "CommitInventory"
	ChargePaymentName    = "ChargePayment"
	RefundPaymentName    = "RefundPayment"
	AuthorizePaymentName = "AuthorizePayment"
	VoidPaymentName      = "VoidPayment"
	CapturePaymentName   = "CapturePayment"
	RefundCaptureName    = "RefundCapture"
	RecordResolutionName = "RecordResolution"
)

// Application error types returned by activities. The business ones are
// non-retryable: retrying cannot change the answer.
const (
	ErrOutOfStock = "OutOfStock"
	// ErrHoldLimit: the order's client would hold more than its share of a
	// SKU's stock in uncommitted reservations.
	ErrHoldLimit          = "HoldLimit"
	ErrUnknownSKU         = "UnknownSKU"
	ErrPaymentDeclined    = "PaymentDeclined"
	ErrAlreadyCompensated = "AlreadyCompensated"
	ErrInvalidInput       = "InvalidInput"
)

// Outcome is embedded in every activity result. Attempt is the Temporal
// attempt that produced the result, so the workflow can report how many
// attempts a step took without growing its history.
type Outcome struct {
	Attempt int32 `json:"attempt"`
}

// Done returns the Outcome of the activity running in ctx: its attempt.
func Done(ctx context.Context) Outcome {
	return Outcome{Attempt: activity.GetInfo(ctx).Attempt}
}

// CreateOrderInput is the input of CreateOrder.
type CreateOrderInput struct {
	Key        string           `json:"key"`
	OrderID    string           `json:"order_id"`
	CustomerID string           `json:"customer_id"`
	Items      []ordersaga.Item `json:"items"`
}

// RejectOrderInput is the input of RejectOrder, the compensation of CreateOrder.
// Key is the key CreateOrder was called with.
type RejectOrderInput struct {
	Key     string `json:"key"`
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// ConfirmOrderInput is the input of ConfirmOrder.
type ConfirmOrderInput struct {
	Key        string `json:"key"`
	OrderID    string `json:"order_id"`
	TotalCents int64  `json:"total_cents"`
	ChargeID   string `json:"charge_id"`
}

// ReserveInput is the input of ReserveInventory. ClientID is the
// principal that placed the order: the reservation is refused (HoldLimit)
// if it would make that client hold more than its share of a SKU's stock;
// empty (sagas started before it existed) means no bound.
type ReserveInput struct {
	Key      string           `json:"key"`
	OrderID  string           `json:"order_id"`
	ClientID string           `json:"client_id,omitempty"`
	Items    []ordersaga.Item `json:"items"`
}

// Reservation is the result of ReserveInventory: the priced lines and total.
type Reservation struct {
	Outcome
	Lines      []ordersaga.Line `json:"lines"`
	TotalCents int64            `json:"total_cents"`
}

// ReservationRef names a reservation by the key ReserveInventory was called
// with; it is the input of ReleaseInventory and CommitInventory.
type ReservationRef struct {
	Key     string `json:"key"`
	OrderID string `json:"order_id"`
}

// ChargeInput is the input of ChargePayment.
type ChargeInput struct {
	Key         string `json:"key"`
	OrderID     string `json:"order_id"`
	Token       string `json:"payment_token"`
	AmountCents int64  `json:"amount_cents"`
}

// Charge is the result of ChargePayment.
type Charge struct {
	Outcome
	ChargeID    string `json:"charge_id"`
	AmountCents int64  `json:"amount_cents"`
}

// RefundInput is the input of RefundPayment; Key is the key of the charge.
type RefundInput struct {
	Key         string `json:"key"`
	OrderID     string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
}

// AuthorizeInput is the input of AuthorizePayment.
type AuthorizeInput struct {
	Key         string `json:"key"`
	OrderID     string `json:"order_id"`
	Token       string `json:"payment_token"`
	AmountCents int64  `json:"amount_cents"`
}

// Authorization is the result of AuthorizePayment: the hold on the card.
type Authorization struct {
	Outcome
	AuthorizationID string `json:"authorization_id"`
	AmountCents     int64  `json:"amount_cents"`
}

// VoidInput is the input of VoidPayment, the compensation of
// AuthorizePayment; Key is the key AuthorizePayment was called with.
type VoidInput struct {
	Key     string `json:"key"`
	OrderID string `json:"order_id"`
}

// CaptureInput is the input of CapturePayment. Key is the capture step's
// own key (its event's id); AuthorizationKey is the key AuthorizePayment
// was called with (the provider's idempotency key and the barrier).
// AmountCents, if not zero, must be the authorized amount.
type CaptureInput struct {
	Key              string `json:"key"`
	AuthorizationKey string `json:"authorization_key"`
	OrderID          string `json:"order_id"`
	AmountCents      int64  `json:"amount_cents,omitempty"`
}

// Capture is the result of CapturePayment. ChargeID is the capture's ID:
// what ConfirmOrderInput.ChargeID records.
type Capture struct {
	Outcome
	ChargeID        string `json:"charge_id"`
	AuthorizationID string `json:"authorization_id"`
	AmountCents     int64  `json:"amount_cents"`
}

// RefundCaptureInput is the input of RefundCapture, the compensation of
// CapturePayment: Key and AuthorizationKey as CapturePayment's.
type RefundCaptureInput struct {
	Key              string `json:"key"`
	AuthorizationKey string `json:"authorization_key"`
	OrderID          string `json:"order_id"`
	AmountCents      int64  `json:"amount_cents,omitempty"`
}

// ResolutionInput is the input of RecordResolution: an operator resolved the
// compensation of the step keyed Key by hand.
type ResolutionInput struct {
	Key     string    `json:"key"`
	OrderID string    `json:"order_id"`
	Step    string    `json:"step"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
}

// nonRetryable wraps err as a non-retryable application error of type typ.
func nonRetryable(typ string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), typ, err)
}

// StepError maps the domain's business outcomes to non-retryable application
// errors of the documented types, whose message is the service's own words;
// anything else (a Redis timeout, a provider 5xx) stays retryable and is
// wrapped with op.
func StepError(op string, err error) error {
	if b := BusinessError(err); b != err {
		return b
	}
	return fmt.Errorf("%s: %w", op, err)
}

// BusinessError returns the domain's business outcome err as the
// non-retryable application error of its documented type (ErrOutOfStock,
// ...), or err itself (nil included) if it is not one.
func BusinessError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ordersaga.ErrOutOfStock):
		return nonRetryable(ErrOutOfStock, err)
	case errors.Is(err, ordersaga.ErrUnknownSKU):
		return nonRetryable(ErrUnknownSKU, err)
	case errors.Is(err, ordersaga.ErrHoldLimit):
		return nonRetryable(ErrHoldLimit, err)
	case errors.Is(err, ordersaga.ErrDeclined):
		return nonRetryable(ErrPaymentDeclined, err)
	case errors.Is(err, ordersaga.ErrCompensated):
		return nonRetryable(ErrAlreadyCompensated, err)
	case ordersaga.ErrorCode(err) == ordersaga.EINVALID:
		return nonRetryable(ErrInvalidInput, err)
	}
	return err
}
