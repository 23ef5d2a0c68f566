package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
)

// Authorize before approval, capture after: AuthorizePayment holds the
// order's total on the card (compensation: VoidPayment releases it), and
// CapturePayment, the pivot, takes the held amount once the order may go
// ahead (compensation: RefundCapture). The barrier of both pairs is the
// authorization's key, which is also the provider's idempotency key, so a
// capture or an authorization still in flight when its compensation runs
// is refused by the store or by the provider, whichever it reaches.

// AuthorizePayment holds the order's total on the card. A decline is the
// business failure PaymentDeclined, recorded first.
func (a *Activities) AuthorizePayment(ctx context.Context, in activities.AuthorizeInput) (activities.Authorization, error) {
	if in.Key == "" || in.Token == "" || in.AmountCents <= 0 || in.AmountCents > ordersaga.MaxTotalCents {
		return activities.Authorization{}, activities.BusinessError(ordersaga.Invalid("payment_token",
			"key, token and an amount between 1 and %d cents are required", int64(ordersaga.MaxTotalCents)))
	}
	op := fmt.Sprintf("authorize payment of order %s", in.OrderID)
	rec, err := a.Store.Authorization(ctx, in.Key)
	if err != nil {
		return activities.Authorization{}, activities.StepError(op, err)
	}
	if rec.State == "authorized" || rec.State == "captured" {
		return activities.Authorization{Outcome: activities.Done(ctx), AuthorizationID: rec.AuthorizationID, AmountCents: rec.AmountCents}, nil
	}
	id, err := a.Provider.Authorize(ctx, in.Key, in.Token, in.AmountCents)
	if errors.Is(err, ordersaga.ErrDeclined) {
		if rerr := a.Store.RecordDecline(ctx, in.Key, in.OrderID, err.Error()); rerr != nil {
			return activities.Authorization{}, fmt.Errorf("record decline of order %s: %w", in.OrderID, rerr)
		}
	}
	if err != nil {
		return activities.Authorization{}, activities.StepError(op, err)
	}
	if err := a.Store.RecordAuthorization(ctx, in.Key, in.OrderID, id, in.AmountCents); err != nil {
		return activities.Authorization{}, activities.StepError("record "+op, err)
	}
	return activities.Authorization{Outcome: activities.Done(ctx), AuthorizationID: id, AmountCents: in.AmountCents}, nil
}

// VoidPayment compensates AuthorizePayment: it marks the authorization as
// being released, so an authorization or capture still in flight is
// refused, then has the provider release it (or void its key, or refund a
// capture that happened all the same), and records what the provider did.
func (a *Activities) VoidPayment(ctx context.Context, in activities.VoidInput) (activities.Outcome, error) {
	return a.release(ctx, in.Key, in.Key, in.OrderID, "void", a.Provider.Void)
}

// CapturePayment captures the authorized amount: the saga's pivot.
func (a *Activities) CapturePayment(ctx context.Context, in activities.CaptureInput) (activities.Capture, error) {
	if in.Key == "" || in.AuthorizationKey == "" || in.AmountCents < 0 {
		return activities.Capture{}, activities.BusinessError(ordersaga.Invalid("authorization_key", "key and authorization_key are required"))
	}
	op := fmt.Sprintf("capture payment of order %s", in.OrderID)
	rec, err := a.Store.Authorization(ctx, in.AuthorizationKey)
	if err != nil {
		return activities.Capture{}, activities.StepError(op, err)
	}
	if in.AmountCents != 0 && rec.AmountCents != 0 && in.AmountCents != rec.AmountCents {
		return activities.Capture{}, activities.BusinessError(ordersaga.Invalid("amount_cents",
			"order %s: the capture of %d cents is not the authorized %d cents", in.OrderID, in.AmountCents, rec.AmountCents))
	}
	if rec.State == "captured" {
		return activities.Capture{Outcome: activities.Done(ctx), ChargeID: rec.CaptureID, AuthorizationID: rec.AuthorizationID, AmountCents: rec.AmountCents}, nil
	}
	c, err := a.Provider.Capture(ctx, in.AuthorizationKey)
	if err != nil {
		return activities.Capture{}, activities.StepError(op, err)
	}
	if err := a.Store.RecordCapture(ctx, in.AuthorizationKey, in.Key, in.OrderID, c); err != nil {
		return activities.Capture{}, activities.StepError("record "+op, err)
	}
	return activities.Capture{Outcome: activities.Done(ctx), ChargeID: c.CaptureID, AuthorizationID: c.AuthorizationID, AmountCents: c.AmountCents}, nil
}

// RefundCapture compensates CapturePayment: as VoidPayment, but the
// provider refunds the capture (or releases the authorization if it was
// never captured).
func (a *Activities) RefundCapture(ctx context.Context, in activities.RefundCaptureInput) (activities.Outcome, error) {
	return a.release(ctx, in.AuthorizationKey, in.Key, in.OrderID, "refund capture", a.Provider.RefundCapture)
}

// release runs a compensation of the payment under key: BeginRelease, the
// provider's call, RecordRelease (its event keyed by stepKey).
func (a *Activities) release(ctx context.Context, key, stepKey, orderID, what string,
	call func(ctx context.Context, key string) (Release, error)) (activities.Outcome, error) {
	if key == "" || stepKey == "" {
		return activities.Outcome{}, activities.BusinessError(ordersaga.Invalid("key", "%s: key and the authorization's key are required", what))
	}
	if err := a.Store.BeginRelease(ctx, key, orderID); err != nil {
		return activities.Outcome{}, fmt.Errorf("%s of order %s: %w", what, orderID, err)
	}
	rel, err := call(ctx, key)
	if err != nil {
		return activities.Outcome{}, fmt.Errorf("%s of order %s: %w", what, orderID, err)
	}
	if err := a.Store.RecordRelease(ctx, key, stepKey, orderID, rel); err != nil {
		return activities.Outcome{}, fmt.Errorf("record %s of order %s: %w", what, orderID, err)
	}
	return activities.Done(ctx), nil
}
