package inventory

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
)

// ActivityStore is the inventory service's storage as its activities use it.
type ActivityStore interface {
	// ReserveFor atomically reserves every item under key for clientID, or
	// none: it fails with ordersaga.ErrUnknownSKU, ordersaga.ErrOutOfStock,
	// ordersaga.ErrHoldLimit (the client would hold more than its share of a
	// SKU; never for an empty clientID) or ordersaga.ErrTotalTooLarge, and
	// changes nothing. It returns the lines priced at reservation time.
	// Repeating key returns the first result; if key was compensated it
	// fails with ordersaga.ErrCompensated.
	ReserveFor(ctx context.Context, key, orderID, clientID string, items []ordersaga.Item) ([]ordersaga.Line, error)
	// Release returns the units reserved under key. With no reservation
	// under key it records key as compensated. Idempotent.
	Release(ctx context.Context, key string) error
	// Commit turns the reservation under key into committed stock.
	// Idempotent.
	Commit(ctx context.Context, key string) error
}

// Activities is the inventory service's activities.
type Activities struct {
	Store ActivityStore
}

// ReserveInventory reserves all lines of an order, all or nothing, within
// the order's client's hold share (HoldLimit past it).
func (a *Activities) ReserveInventory(ctx context.Context, in activities.ReserveInput) (activities.Reservation, error) {
	if in.Key == "" || len(in.Items) == 0 {
		return activities.Reservation{}, activities.BusinessError(ordersaga.Invalid("items", "key and at least one item are required"))
	}
	lines, err := a.Store.ReserveFor(ctx, in.Key, in.OrderID, in.ClientID, in.Items)
	if err != nil {
		return activities.Reservation{}, activities.StepError(fmt.Sprintf("reserve for order %s", in.OrderID), err)
	}
	return activities.Reservation{Outcome: activities.Done(ctx), Lines: lines, TotalCents: ordersaga.Total(lines)}, nil
}

// ReleaseInventory compensates ReserveInventory.
func (a *Activities) ReleaseInventory(ctx context.Context, in activities.ReservationRef) (activities.Outcome, error) {
	if err := a.Store.Release(ctx, in.Key); err != nil {
		return activities.Outcome{}, fmt.Errorf("release for order %s: %w", in.OrderID, err)
	}
	return activities.Done(ctx), nil
}

// CommitInventory commits the reservation once the order is paid.
func (a *Activities) CommitInventory(ctx context.Context, in activities.ReservationRef) (activities.Outcome, error) {
	if err := a.Store.Commit(ctx, in.Key); err != nil {
		return activities.Outcome{}, fmt.Errorf("commit for order %s: %w", in.OrderID, err)
	}
	return activities.Done(ctx), nil
}
