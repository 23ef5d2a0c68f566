package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/ordersaga/ordersaga"
)

// PaymentProvider is the payment service's view of the external provider.
// Both calls carry key as the provider's idempotency key.
type PaymentProvider interface {
	// Charge charges token amountCents once per key and returns the charge
	// ID. A decline wraps ordersaga.ErrDeclined; other errors are transient.
	// A key the provider already refunded or voided wraps
	// ordersaga.ErrCompensated.
	Charge(ctx context.Context, key, token string, amountCents int64) (chargeID string, err error)
	// Refund refunds the charge made under key, or, if there is none, voids
	// key so that no later charge under it succeeds. Idempotent.
	Refund(ctx context.Context, key string) error
}

// PaymentStore is the payment service's own record of payments.
type PaymentStore interface {
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
}

// Payment is the payment service's activities.
type Payment struct {
	Provider PaymentProvider
	Store    PaymentStore
}

// ChargePayment charges the order's total: the saga's pivot.
func (a *Payment) ChargePayment(ctx context.Context, in ChargeInput) (Charge, error) {
	if in.Key == "" || in.Token == "" || in.AmountCents <= 0 {
		return Charge{}, businessError(ordersaga.Invalid("payment_token", "key, token and a positive amount are required"))
	}
	chargeID, err := a.Store.Charged(ctx, in.Key)
	if err != nil {
		return Charge{}, stepError(fmt.Sprintf("charge order %s", in.OrderID), err)
	}
	if chargeID == "" {
		chargeID, err = a.Provider.Charge(ctx, in.Key, in.Token, in.AmountCents)
		if errors.Is(err, ordersaga.ErrDeclined) {
			if rerr := a.Store.RecordDecline(ctx, in.Key, in.OrderID, err.Error()); rerr != nil {
				return Charge{}, fmt.Errorf("record decline of order %s: %w", in.OrderID, rerr)
			}
		}
		if err != nil {
			return Charge{}, stepError(fmt.Sprintf("charge order %s", in.OrderID), err)
		}
		if err := a.Store.RecordCharge(ctx, in.Key, in.OrderID, chargeID, in.AmountCents); err != nil {
			return Charge{}, stepError(fmt.Sprintf("record charge of order %s", in.OrderID), err)
		}
	}
	return Charge{Outcome: outcome(ctx), ChargeID: chargeID, AmountCents: in.AmountCents}, nil
}

// RefundPayment compensates ChargePayment. It first marks the key as being
// refunded, so a charge attempt still in flight is refused, then asks the
// provider to refund or void it.
func (a *Payment) RefundPayment(ctx context.Context, in RefundInput) (Outcome, error) {
	if err := a.Store.BeginRefund(ctx, in.Key, in.OrderID); err != nil {
		return Outcome{}, fmt.Errorf("refund order %s: %w", in.OrderID, err)
	}
	if err := a.Provider.Refund(ctx, in.Key); err != nil {
		return Outcome{}, fmt.Errorf("refund order %s: %w", in.OrderID, err)
	}
	if err := a.Store.RecordRefund(ctx, in.Key, in.OrderID); err != nil {
		return Outcome{}, fmt.Errorf("record refund of order %s: %w", in.OrderID, err)
	}
	return outcome(ctx), nil
}
