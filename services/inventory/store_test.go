package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
)

func newInventory(t *testing.T) *inventory.Store {
	rdb, prefix := redistest.New(t)
	return inventory.NewStore(rdb, redislua.NewKeyspace(prefix, "inventory"))
}

func stock(t *testing.T, inv *inventory.Store, sku string) ordersaga.Stock {
	t.Helper()
	st, err := inv.Get(context.Background(), sku)
	require.NoError(t, err)
	return st
}

func TestReserveIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	_, err := inv.Put(ctx, "a", 5, 100)
	require.NoError(t, err)
	_, err = inv.Put(ctx, "b", 1, 250)
	require.NoError(t, err)

	_, err = inv.Reserve(ctx, "k1", "o1", []ordersaga.Item{{SKU: "a", Quantity: 2}, {SKU: "b", Quantity: 2}})
	require.ErrorIs(t, err, ordersaga.ErrOutOfStock)
	require.EqualError(t, err, `out of stock: sku "b" has 1 available, 2 requested`)
	require.Equal(t, ordersaga.Stock{SKU: "a", Available: 5, PriceCents: 100}, stock(t, inv, "a"), "nothing reserved")

	_, err = inv.Reserve(ctx, "k2", "o2", []ordersaga.Item{{SKU: "a", Quantity: 1}, {SKU: "nope", Quantity: 1}})
	require.ErrorIs(t, err, ordersaga.ErrUnknownSKU)
	require.EqualValues(t, 5, stock(t, inv, "a").Available)

	lines, err := inv.Reserve(ctx, "k3", "o3", []ordersaga.Item{{SKU: "a", Quantity: 2}, {SKU: "b", Quantity: 1}, {SKU: "a", Quantity: 1}})
	require.NoError(t, err)
	require.Equal(t, []ordersaga.Line{{SKU: "a", Quantity: 3, UnitPriceCents: 100}, {SKU: "b", Quantity: 1, UnitPriceCents: 250}}, lines)
	require.EqualValues(t, 550, ordersaga.Total(lines))
	require.Equal(t, ordersaga.Stock{SKU: "a", Available: 2, Reserved: 3, PriceCents: 100}, stock(t, inv, "a"))
}

func TestReserveIsIdempotentAndSettles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	_, err := inv.Put(ctx, "a", 5, 100)
	require.NoError(t, err)
	items := []ordersaga.Item{{SKU: "a", Quantity: 2}}

	first, err := inv.Reserve(ctx, "k", "o", items)
	require.NoError(t, err)
	_, err = inv.Put(ctx, "a", 3, 999) // a price change does not alter a repeat's answer
	require.NoError(t, err)
	again, err := inv.Reserve(ctx, "k", "o", items)
	require.NoError(t, err)
	require.Equal(t, first, again)
	require.Equal(t, ordersaga.Stock{SKU: "a", Available: 3, Reserved: 2, PriceCents: 999}, stock(t, inv, "a"))

	require.NoError(t, inv.Commit(ctx, "k"))
	require.NoError(t, inv.Commit(ctx, "k"))
	require.Equal(t, ordersaga.Stock{SKU: "a", Available: 3, Committed: 2, PriceCents: 999}, stock(t, inv, "a"))
	require.Equal(t, ordersaga.ECONFLICT, ordersaga.ErrorCode(inv.Release(ctx, "k")), "committed stock cannot be released")
}

func TestReleaseRestoresStockOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	_, err := inv.Put(ctx, "a", 5, 100)
	require.NoError(t, err)
	_, err = inv.Reserve(ctx, "k", "o", []ordersaga.Item{{SKU: "a", Quantity: 4}})
	require.NoError(t, err)
	require.NoError(t, inv.Release(ctx, "k"))
	require.NoError(t, inv.Release(ctx, "k"))
	require.Equal(t, ordersaga.Stock{SKU: "a", Available: 5, PriceCents: 100}, stock(t, inv, "a"))
	require.Equal(t, ordersaga.ECONFLICT, ordersaga.ErrorCode(inv.Commit(ctx, "k")), "released stock cannot be committed")
}

// TestReleaseBeforeReserveBlocksLateReservation is the barrier's
// anti-hanging rule: a compensation that ran first makes the action a
// refused no-op.
func TestReleaseBeforeReserveBlocksLateReservation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	_, err := inv.Put(ctx, "a", 5, 100)
	require.NoError(t, err)
	require.NoError(t, inv.Release(ctx, "k"), "null compensation succeeds")
	_, err = inv.Reserve(ctx, "k", "o", []ordersaga.Item{{SKU: "a", Quantity: 1}})
	require.ErrorIs(t, err, ordersaga.ErrCompensated)
	require.EqualValues(t, 5, stock(t, inv, "a").Available)
}

func TestGetUnknownSKU(t *testing.T) {
	t.Parallel()
	_, err := newInventory(t).Get(context.Background(), "missing")
	require.ErrorIs(t, err, ordersaga.ErrUnknownSKU)
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err))
}

// TestLastUnitNeverOversells races many reservations for the last units:
// exactly as many succeed as there are units. Run with -race.
func TestLastUnitNeverOversells(t *testing.T) {
	t.Parallel()
	for _, units := range []int64{1, 3} {
		t.Run(fmt.Sprintf("%d units", units), func(t *testing.T) {
			ctx := context.Background()
			inv := newInventory(t)
			_, err := inv.Put(ctx, "last", units, 100)
			require.NoError(t, err)
			const orders = 50
			var ok, short atomic.Int64
			var wg sync.WaitGroup
			for i := range orders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := inv.Reserve(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("o%d", i), []ordersaga.Item{{SKU: "last", Quantity: 1}})
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ordersaga.ErrOutOfStock):
						short.Add(1)
					default:
						t.Errorf("reserve: %v", err)
					}
				}()
			}
			wg.Wait()
			require.Equal(t, units, ok.Load())
			require.Equal(t, orders-units, short.Load())
			require.Equal(t, ordersaga.Stock{SKU: "last", Reserved: units, PriceCents: 100}, stock(t, inv, "last"))
		})
	}
}
