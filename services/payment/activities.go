package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
)

// ProviderAPI is the payment service's view of the external provider.
// Both calls carry key as the provider's idempotency key.
type ProviderAPI interface {
	// Charge charges token amountCents once per key and returns the charge
	// ID. A decline wraps ordersaga.ErrDeclined; other errors are transient.
	// A key the provider already refunded or voided wraps
	// ordersaga.ErrCompensated.
	Charge(ctx context.Context, key, token string, amountCents int64) (chargeID string, err error)
	// Refund refunds the charge made under key, or, if there is none, voids
	// key so that no later charge under it succeeds. Idempotent.
	Refund(ctx context.Context, key string) error
	// Authorize holds amountCents on token's card once per key and returns
	// the authorization's ID. A decline wraps ordersaga.ErrDeclined; a key
	// the provider already voided or refunded wraps ordersaga.ErrCompensated;
	// other errors are transient.
	Authorize(ctx context.Context, key, token string, amountCents int64) (authorizationID string, err error)
	// Capture captures the whole amount of the authorization made under
	// key, once, and returns it. An authorization voided, refunded or
	// declined wraps ordersaga.ErrCompensated; none under key is an
	// EINVALID error; other errors are transient.
	Capture(ctx context.Context, key string) (ProviderCapture, error)
	// Void releases the hold of the authorization made under key or, with
	// none, voids key so that no later authorization under it succeeds; an
	// authorization already captured is refunded instead. It returns what
	// the provider did. Idempotent.
	Void(ctx context.Context, key string) (Release, error)
	// RefundCapture refunds the capture of the authorization made under
	// key; an authorization not captured is released, and with none key is
	// voided. It returns what the provider did. Idempotent.
	RefundCapture(ctx context.Context, key string) (Release, error)
}

// ProviderCapture is the provider's capture of an authorization.
type ProviderCapture struct {
	CaptureID       string
	AuthorizationID string
	AmountCents     int64
}

// Release is what the provider did to release a payment: Status is
// voided (a hold released, or a key voided before any authorization: then
// AuthorizationID is empty), refunded (a capture refunded: CaptureID and
// AmountCents say which and how much) or declined (nothing was held).
type Release struct {
	Status          string
	AuthorizationID string
	CaptureID       string
	AmountCents     int64
}

// ActivityStore is the payment service's own record of payments.
type ActivityStore interface {
	// Charged returns the charge recorded under key, "" if none. It fails
	// with ordersaga.ErrCompensated if a refund was recorded under key.
	Charged(ctx context.Context, key string) (chargeID string, err error)
	// RecordCharge records a successful charge under key. Idempotent; fails
	// with ordersaga.ErrCompensated if a refund was recorded first.
	RecordCharge(ctx context.Context, key, orderID, chargeID string, amountCents int64) error
	// RecordDecline records a declined charge under key.
	RecordDecline(ctx context.Context, key, orderID, reason string) error
	// BeginRefund marks key as being refunded, so no new charge starts under
	// it. Idempotent.
	BeginRefund(ctx context.Context, key, orderID string) error
	// RecordRefund records that the provider refunded or voided key.
	// Idempotent.
	RecordRefund(ctx context.Context, key, orderID string) error

	// Authorization returns the record of the authorization made under key
	// (the zero value if none). It fails with ordersaga.ErrCompensated once
	// a release of key was recorded (BeginRelease).
	Authorization(ctx context.Context, key string) (AuthorizationRecord, error)
	// RecordAuthorization records a hold under key. Idempotent; fails with
	// ordersaga.ErrCompensated if a release was recorded first.
	RecordAuthorization(ctx context.Context, key, orderID, authorizationID string, amountCents int64) error
	// RecordCapture records the capture of the authorization made under
	// key; stepKey is the capture step's key (its event's). Idempotent;
	// fails with ordersaga.ErrCompensated if a release was recorded first.
	RecordCapture(ctx context.Context, key, stepKey, orderID string, c ProviderCapture) error
	// BeginRelease marks the payment under key as being released (voiding,
	// or refunding once captured), so that no authorization or capture
	// starts under it; with no record, it records key as voiding (a
	// compensation before its action). Idempotent.
	BeginRelease(ctx context.Context, key, orderID string) error
	// RecordRelease records what the provider did to release the payment
	// under key; stepKey is the compensating step's key (its event's).
	// Idempotent.
	RecordRelease(ctx context.Context, key, stepKey, orderID string, r Release) error
}

// AuthorizationRecord is the payment service's record of an authorization:
// State is "" (none), authorized, declined or captured (CaptureID set).
type AuthorizationRecord struct {
	State           string
	AuthorizationID string
	CaptureID       string
	AmountCents     int64
}

// Activities is the payment service's activities.
type Activities struct {
	Provider ProviderAPI
	Store    ActivityStore
}

// ChargePayment charges the order's total: the saga's pivot.
func (a *Activities) ChargePayment(ctx context.Context, in activities.ChargeInput) (activities.Charge, error) {
	if in.Key == "" || in.Token == "" || in.AmountCents <= 0 || in.AmountCents > ordersaga.MaxTotalCents {
		return activities.Charge{}, activities.BusinessError(ordersaga.Invalid("payment_token",
			"key, token and an amount between 1 and %d cents are required", int64(ordersaga.MaxTotalCents)))
	}
	chargeID, err := a.Store.Charged(ctx, in.Key)
	if err != nil {
		return activities.Charge{}, activities.StepError(fmt.Sprintf("charge order %s", in.OrderID), err)
	}
	if chargeID == "" {
		chargeID, err = a.Provider.Charge(ctx, in.Key, in.Token, in.AmountCents)
		if errors.Is(err, ordersaga.ErrDeclined) {
			if rerr := a.Store.RecordDecline(ctx, in.Key, in.OrderID, err.Error()); rerr != nil {
				return activities.Charge{}, fmt.Errorf("record decline of order %s: %w", in.OrderID, rerr)
			}
		}
		if err != nil {
			return activities.Charge{}, activities.StepError(fmt.Sprintf("charge order %s", in.OrderID), err)
		}
		if err := a.Store.RecordCharge(ctx, in.Key, in.OrderID, chargeID, in.AmountCents); err != nil {
			return activities.Charge{}, activities.StepError(fmt.Sprintf("record charge of order %s", in.OrderID), err)
		}
	}
	return activities.Charge{Outcome: activities.Done(ctx), ChargeID: chargeID, AmountCents: in.AmountCents}, nil
}

// RefundPayment compensates ChargePayment. It first marks the key as being
// refunded, so a charge attempt still in flight is refused, then asks the
// provider to refund or void it.
func (a *Activities) RefundPayment(ctx context.Context, in activities.RefundInput) (activities.Outcome, error) {
	if err := a.Store.BeginRefund(ctx, in.Key, in.OrderID); err != nil {
		return activities.Outcome{}, fmt.Errorf("refund order %s: %w", in.OrderID, err)
	}
	if err := a.Provider.Refund(ctx, in.Key); err != nil {
		return activities.Outcome{}, fmt.Errorf("refund order %s: %w", in.OrderID, err)
	}
	if err := a.Store.RecordRefund(ctx, in.Key, in.OrderID); err != nil {
		return activities.Outcome{}, fmt.Errorf("record refund of order %s: %w", in.OrderID, err)
	}
	return activities.Done(ctx), nil
}
