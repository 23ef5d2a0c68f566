package order

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
)

// ActivityStore is the order service's storage as its activities use it.
type ActivityStore interface {
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
	RecordResolution(ctx context.Context, in activities.ResolutionInput) error
}

// Activities is the order service's activities.
type Activities struct {
	Store ActivityStore
}

// CreateOrder records a new PENDING order.
func (a *Activities) CreateOrder(ctx context.Context, in activities.CreateOrderInput) (activities.Outcome, error) {
	if in.Key == "" || in.OrderID == "" {
		return activities.Outcome{}, activities.BusinessError(ordersaga.Invalid("key", "key and order_id are required"))
	}
	o := ordersaga.Order{ID: in.OrderID, CustomerID: in.CustomerID, Items: in.Items, Status: ordersaga.OrderPending}
	if err := a.Store.Create(ctx, in.Key, o); err != nil {
		return activities.Outcome{}, activities.StepError(fmt.Sprintf("create order %s", in.OrderID), err)
	}
	return activities.Done(ctx), nil
}

// RejectOrder compensates CreateOrder.
func (a *Activities) RejectOrder(ctx context.Context, in activities.RejectOrderInput) (activities.Outcome, error) {
	if err := a.Store.Reject(ctx, in.Key, in.OrderID, in.Reason); err != nil {
		return activities.Outcome{}, fmt.Errorf("reject order %s: %w", in.OrderID, err)
	}
	return activities.Done(ctx), nil
}

// ConfirmOrder marks the order confirmed once paid.
func (a *Activities) ConfirmOrder(ctx context.Context, in activities.ConfirmOrderInput) (activities.Outcome, error) {
	if err := a.Store.Confirm(ctx, in.Key, in.OrderID, in.TotalCents, in.ChargeID); err != nil {
		return activities.Outcome{}, fmt.Errorf("confirm order %s: %w", in.OrderID, err)
	}
	return activities.Done(ctx), nil
}

// RecordResolution records an operator's resolution of a stuck compensation
// in the order's audit trail and emits saga.compensation_resolved.
func (a *Activities) RecordResolution(ctx context.Context, in activities.ResolutionInput) (activities.Outcome, error) {
	if in.Key == "" || in.OrderID == "" || in.Step == "" || in.By == "" {
		return activities.Outcome{}, activities.BusinessError(ordersaga.Invalid("key", "key, order_id, step and by are required"))
	}
	if err := a.Store.RecordResolution(ctx, in); err != nil {
		return activities.Outcome{}, fmt.Errorf("record resolution of %s for order %s: %w", in.Step, in.OrderID, err)
	}
	return activities.Done(ctx), nil
}
