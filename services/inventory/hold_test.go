package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
)

// TestOneClientCannotHoardASKU is finding 1: one client's order held all 5
// units of a SKU, and the next client's order ended out of stock. With
// the default share (50%) a client holds at most 2 of 5 unsold units
// until its orders complete; releases and commits give the share back.
func TestOneClientCannotHoardASKU(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	_, err := inv.Put(ctx, "a", 5, 100)
	require.NoError(t, err)
	items := func(n int64) []ordersaga.Item { return []ordersaga.Item{{SKU: "a", Quantity: n}} }

	_, err = inv.ReserveFor(ctx, "kb1", "ob1", "client-b", items(5))
	require.ErrorIs(t, err, ordersaga.ErrHoldLimit)
	require.EqualError(t, err, `hold limit: the client holds 0 of sku "a"'s 5 unsold units and asks 5 more; a client may hold at most 2 (50%) until its orders complete`)
	_, err = inv.ReserveFor(ctx, "kb2", "ob2", "client-b", items(2))
	require.NoError(t, err)
	_, err = inv.ReserveFor(ctx, "kb3", "ob3", "client-b", items(1))
	require.ErrorIs(t, err, ordersaga.ErrHoldLimit, "one order at a time does not get past it")
	_, err = inv.ReserveFor(ctx, "ka1", "oa1", "client-a", items(2))
	require.NoError(t, err, "another client still gets its share")
	require.Equal(t, ordersaga.Stock{SKU: "a", Available: 1, Reserved: 4, PriceCents: 100}, stock(t, inv, "a"))

	require.NoError(t, inv.Release(ctx, "kb2"))
	_, err = inv.ReserveFor(ctx, "kb4", "ob4", "client-b", items(1))
	require.NoError(t, err, "a release gives the share back")
	require.NoError(t, inv.Commit(ctx, "ka1"))
	_, err = inv.ReserveFor(ctx, "ka2", "oa2", "client-a", items(2))
	require.ErrorIs(t, err, ordersaga.ErrHoldLimit, "sold units are no longer in the share: 3 unsold, at most 1")
	_, err = inv.ReserveFor(ctx, "ka3", "oa3", "client-a", items(1))
	require.NoError(t, err, "a committed order holds nothing")
	require.Equal(t, ordersaga.Stock{SKU: "a", Available: 1, Reserved: 2, Committed: 2, PriceCents: 100}, stock(t, inv, "a"))

	_, err = inv.Reserve(ctx, "k-none", "o-none", items(1))
	require.NoError(t, err, "no client (sagas from before the bound): no bound")
}

// TestHoldShareOfTheLastUnitAndOfManySKUs: a client may always hold one
// unit; a multi-SKU order is bounded SKU by SKU, all or nothing.
func TestHoldShareOfTheLastUnitAndOfManySKUs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	_, err := inv.Put(ctx, "last", 1, 100)
	require.NoError(t, err)
	_, err = inv.Put(ctx, "many", 100, 100)
	require.NoError(t, err)
	_, err = inv.ReserveFor(ctx, "k1", "o1", "c", []ordersaga.Item{{SKU: "many", Quantity: 50}, {SKU: "last", Quantity: 1}})
	require.NoError(t, err)
	_, err = inv.ReserveFor(ctx, "k2", "o2", "c", []ordersaga.Item{{SKU: "many", Quantity: 1}})
	require.ErrorIs(t, err, ordersaga.ErrHoldLimit)
	require.Equal(t, ordersaga.Stock{SKU: "many", Available: 50, Reserved: 50, PriceCents: 100}, stock(t, inv, "many"), "nothing reserved")

	strict, err := inv.WithHoldShare(100)
	require.NoError(t, err)
	_, err = strict.ReserveFor(ctx, "k3", "o3", "c", []ordersaga.Item{{SKU: "many", Quantity: 50}})
	require.NoError(t, err, "100%: no bound")
	_, err = inv.WithHoldShare(0)
	require.Error(t, err)
}

// TestHoldShareUnderRacingOrders races one client's orders for a SKU:
// exactly its share is reserved. Run with -race.
func TestHoldShareUnderRacingOrders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	_, err := inv.Put(ctx, "hot", 40, 100)
	require.NoError(t, err)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			_, err := inv.ReserveFor(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("o%d", i), "flood", []ordersaga.Item{{SKU: "hot", Quantity: 1}})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ordersaga.ErrHoldLimit):
				limited.Add(1)
			default:
				t.Errorf("reserve: %v", err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 20, ok.Load())
	require.EqualValues(t, 20, limited.Load())
}

// TestReservedAmountsAreExact is finding 7: a total the Lua arithmetic
// rendered as 9.999989999e+15 in inventory.reserved. Totals are bounded by
// ordersaga.MaxTotalCents, exact in the event up to the bound; past it the
// reservation is refused, naming the bound, and changes nothing.
func TestReservedAmountsAreExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	ks := redislua.NewKeyspace(prefix, "inventory")
	inv := inventory.NewStore(rdb, ks)
	_, err := inv.Put(ctx, "dear", 1_000_000, ordersaga.MaxPriceCents)
	require.NoError(t, err)
	_, err = inv.Put(ctx, "odd", 1_000_000, 9_999_999_999)
	require.NoError(t, err)

	_, err = inv.Reserve(ctx, "k0", "o0", []ordersaga.Item{{SKU: "odd", Quantity: 999_999}})
	require.ErrorIs(t, err, ordersaga.ErrTotalTooLarge, "the issue's order")
	require.ErrorContains(t, err, "99999999999999 cents")
	require.EqualValues(t, 1_000_000, stock(t, inv, "odd").Available)

	lines, err := inv.Reserve(ctx, "k1", "o1", []ordersaga.Item{{SKU: "dear", Quantity: 9_999}, {SKU: "odd", Quantity: 1}})
	require.NoError(t, err)
	require.EqualValues(t, ordersaga.MaxTotalCents, ordersaga.Total(lines))
	require.Equal(t, "99999999999999", reservedTotal(t, rdb, ks, -1), "exact at the bound")
}

// FuzzReserveTotal: whatever the quantity and price, the reservation's
// lines and its event's total are exact (checked with big integers), or
// the reservation is refused as too large and changes nothing. It runs on
// real Redis; CI runs the seed corpus as a normal test.
func FuzzReserveTotal(f *testing.F) {
	f.Add(int64(1), int64(1))
	f.Add(int64(999_999), int64(9_999_999_999))
	f.Add(int64(9_999), int64(10_000_000_000))
	f.Add(int64(10_000), int64(9_999_999_999))
	f.Add(int64(1_000_000_000), int64(99_999))
	f.Add(int64(123_456_789), int64(810_000))
	rdb, prefix := redistest.New(f)
	ks := redislua.NewKeyspace(prefix, "inventory")
	inv := inventory.NewStore(rdb, ks)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, qty, price int64) {
		if qty < 1 || qty > ordersaga.MaxUnits || price < 0 || price > ordersaga.MaxPriceCents {
			return // out of the stock's range: refused before Redis (TestStockAPI)
		}
		ctx := context.Background()
		i := n.Add(1)
		sku := fmt.Sprintf("s%d", i)
		_, err := inv.Put(ctx, sku, qty, price)
		require.NoError(t, err)
		exact := new(big.Int).Mul(big.NewInt(qty), big.NewInt(price))
		lines, err := inv.Reserve(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("o%d", i), []ordersaga.Item{{SKU: sku, Quantity: qty}})
		if exact.Cmp(big.NewInt(ordersaga.MaxTotalCents)) > 0 {
			require.ErrorIs(t, err, ordersaga.ErrTotalTooLarge)
			require.EqualValues(t, qty, stock(t, inv, sku).Available)
			return
		}
		require.NoError(t, err)
		require.Equal(t, []ordersaga.Line{{SKU: sku, Quantity: qty, UnitPriceCents: price}}, lines)
		require.Equal(t, exact.String(), reservedTotal(t, rdb, ks, -1))
	})
}

// reservedTotal returns the total_cents of the i-th event of the outbox
// (-1: the last) as its JSON writes it.
func reservedTotal(t *testing.T, rdb redis.UniversalClient, ks redislua.Keyspace, i int) string {
	t.Helper()
	entries, err := rdb.XRange(context.Background(), ks.Outbox(), "-", "+").Result()
	require.NoError(t, err)
	if i < 0 {
		i = len(entries) + i
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			TotalCents json.RawMessage `json:"total_cents"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(entries[i].Values["event"].(string)), &ev))
	require.Equal(t, "inventory.reserved", ev.Type)
	return string(ev.Data.TotalCents)
}
