package activities

import (
	"context"
	"fmt"

	"github.com/ordersaga/ordersaga"
)

// InventoryStore is the inventory service's storage as its activities use it.
type InventoryStore interface {
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

// Inventory is the inventory service's activities.
type Inventory struct {
	Store InventoryStore
}

// ReserveInventory reserves all lines of an order, all or nothing, within
// the order's client's hold share (HoldLimit past it).
func (a *Inventory) ReserveInventory(ctx context.Context, in ReserveInput) (Reservation, error) {
	if in.Key == "" || len(in.Items) == 0 {
		return Reservation{}, businessError(ordersaga.Invalid("items", "key and at least one item are required"))
	}
	lines, err := a.Store.ReserveFor(ctx, in.Key, in.OrderID, in.ClientID, in.Items)
	if err != nil {
		return Reservation{}, stepError(fmt.Sprintf("reserve for order %s", in.OrderID), err)
	}
	return Reservation{Outcome: outcome(ctx), Lines: lines, TotalCents: ordersaga.Total(lines)}, nil
}

// ReleaseInventory compensates ReserveInventory.
func (a *Inventory) ReleaseInventory(ctx context.Context, in ReservationRef) (Outcome, error) {
	if err := a.Store.Release(ctx, in.Key); err != nil {
		return Outcome{}, fmt.Errorf("release for order %s: %w", in.OrderID, err)
	}
	return outcome(ctx), nil
}

// CommitInventory commits the reservation once the order is paid.
func (a *Inventory) CommitInventory(ctx context.Context, in ReservationRef) (Outcome, error) {
	if err := a.Store.Commit(ctx, in.Key); err != nil {
		return Outcome{}, fmt.Errorf("commit for order %s: %w", in.OrderID, err)
	}
	return outcome(ctx), nil
}
