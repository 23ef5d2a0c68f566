package activities

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga"
)

// OrderStore is the order service's storage as its activities use it.
type OrderStore interface {
	// Create stores o as PENDING under key. Repeating key is a no-op; if
	// key's compensation already ran it fails with ordersaga.ErrCompensated.
	Create(ctx context.Context, key string, o ordersaga.Order) error
	// Reject marks the order created under key REJECTED with reason. If no
	// order was created under key it records key as compensated, so a late
	// Create is refused. Idempotent.
	Reject(ctx context.Context, key, orderID, reason string) error
	// Confirm marks a PENDING order CONFIRMED with its total and charge.
	// Idempotent.
	Confirm(ctx context.Context, key, orderID string, totalCents int64, chargeID string) error
	// RecordResolution records that an operator resolved the compensation
	// of the step keyed key by hand, and emits saga.compensation_resolved.
	// Idempotent.
	RecordResolution(ctx context.Context, in ResolutionInput) error
}

// Order is the order service's activities.
type Order struct {
	Store OrderStore
}

// CreateOrder records a new PENDING order.
func (a *Order) CreateOrder(ctx context.Context, in CreateOrderInput) (Outcome, error) {
	if in.Key == "" || in.OrderID == "" {
		return Outcome{}, businessError(ordersaga.Invalid("key", "key and order_id are required"))
	}
	o := ordersaga.Order{ID: in.OrderID, CustomerID: in.CustomerID, Items: in.Items, Status: ordersaga.OrderPending}
	if err := a.Store.Create(ctx, in.Key, o); err != nil {
		return Outcome{}, stepError(fmt.Sprintf("create order %s", in.OrderID), err)
	}
	return outcome(ctx), nil
}

// RejectOrder compensates CreateOrder.
func (a *Order) RejectOrder(ctx context.Context, in RejectOrderInput) (Outcome, error) {
	if err := a.Store.Reject(ctx, in.Key, in.OrderID, in.Reason); err != nil {
		return Outcome{}, fmt.Errorf("reject order %s: %w", in.OrderID, err)
	}
	return outcome(ctx), nil
}

// ConfirmOrder marks the order confirmed once paid.
func (a *Order) ConfirmOrder(ctx context.Context, in ConfirmOrderInput) (Outcome, error) {
	if err := a.Store.Confirm(ctx, in.Key, in.OrderID, in.TotalCents, in.ChargeID); err != nil {
		return Outcome{}, fmt.Errorf("confirm order %s: %w", in.OrderID, err)
	}
	return outcome(ctx), nil
}

// RecordResolution records an operator's resolution of a stuck compensation
// in the order's audit trail and emits saga.compensation_resolved.
func (a *Order) RecordResolution(ctx context.Context, in ResolutionInput) (Outcome, error) {
	if in.Key == "" || in.OrderID == "" || in.Step == "" || in.By == "" {
		return Outcome{}, businessError(ordersaga.Invalid("key", "key, order_id, step and by are required"))
	}
	if err := a.Store.RecordResolution(ctx, in); err != nil {
		return Outcome{}, fmt.Errorf("record resolution of %s for order %s: %w", in.Step, in.OrderID, err)
	}
	return outcome(ctx), nil
}
