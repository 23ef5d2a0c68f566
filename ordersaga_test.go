package ordersaga_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
)

// TestDotIDsAreInvalid: "." and ".." are not path segments, so they are no
// SKU or ID; other dotted values are.
func TestDotIDsAreInvalid(t *testing.T) {
	t.Parallel()
	for _, id := range []string{".", ".."} {
		err := ordersaga.CheckID("sku", id)
		require.Equal(t, ordersaga.EINVALID, ordersaga.ErrorCode(err), id)
		var e *ordersaga.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "sku", e.Field)
	}
	for _, id := range []string{"...", ".a", "a.", "a..b", "v1.2"} {
		require.NoError(t, ordersaga.CheckID("sku", id), id)
	}
}

// TestTotalAtTheBound: a total of exactly MaxTotalCents is accepted, one
// cent more is refused naming the bound.
func TestTotalAtTheBound(t *testing.T) {
	t.Parallel()
	// 9,999 × $100,000,000.00 + 1 × $99,999,999.99 = the bound, to the cent.
	lines := []ordersaga.Line{{SKU: "a", Quantity: 9_999, UnitPriceCents: 10_000_000_000}, {SKU: "b", Quantity: 1, UnitPriceCents: 9_999_999_999}}
	total, err := ordersaga.CheckTotal(lines)
	require.NoError(t, err)
	require.EqualValues(t, ordersaga.MaxTotalCents, total)
	require.Equal(t, total, ordersaga.Total(lines))

	lines[1].UnitPriceCents++
	_, err = ordersaga.CheckTotal(lines)
	require.ErrorIs(t, err, ordersaga.ErrTotalTooLarge)
	require.Equal(t, ordersaga.EINVALID, ordersaga.ErrorCode(err))
	require.ErrorContains(t, err, "99999999999999 cents")

	// The order of the issue: 999,999 × $99,999,999.99.
	_, err = ordersaga.CheckTotal([]ordersaga.Line{{SKU: "a", Quantity: 999_999, UnitPriceCents: 9_999_999_999}})
	require.ErrorIs(t, err, ordersaga.ErrTotalTooLarge)
}

// FuzzCheckTotal: CheckTotal returns the exact total (computed with big
// integers) whenever it is within MaxTotalCents and every line is in
// range, and refuses otherwise; it never overflows. CI runs the seed
// corpus as a normal test; `go test -fuzz FuzzCheckTotal .` explores.
func FuzzCheckTotal(f *testing.F) {
	f.Add(int64(1), int64(100), int64(0), int64(0))
	f.Add(int64(999_999), int64(9_999_999_999), int64(1), int64(1))
	f.Add(int64(ordersaga.MaxUnits), int64(ordersaga.MaxPriceCents), int64(ordersaga.MaxUnits), int64(ordersaga.MaxPriceCents))
	f.Add(int64(9_999), int64(10_000_000_000), int64(1), int64(9_999_999_999))
	f.Add(int64(9_999), int64(10_000_000_000), int64(1), int64(10_000_000_000))
	f.Add(int64(-1), int64(5), int64(1), int64(1))
	f.Add(int64(1<<62), int64(1<<62), int64(1), int64(1))
	f.Fuzz(func(t *testing.T, q1, p1, q2, p2 int64) {
		lines := []ordersaga.Line{{SKU: "a", Quantity: q1, UnitPriceCents: p1}, {SKU: "b", Quantity: q2, UnitPriceCents: p2}}
		got, err := ordersaga.CheckTotal(lines)
		inRange := func(q, p int64) bool {
			return q >= 0 && q <= ordersaga.MaxUnits && p >= 0 && p <= ordersaga.MaxPriceCents
		}
		exact := new(big.Int).Mul(big.NewInt(q1), big.NewInt(p1))
		exact.Add(exact, new(big.Int).Mul(big.NewInt(q2), big.NewInt(p2)))
		switch {
		case !inRange(q1, p1) || !inRange(q2, p2):
			if ordersaga.ErrorCode(err) != ordersaga.EINVALID {
				t.Fatalf("lines out of range accepted: %v, %v", lines, err)
			}
		case exact.Cmp(big.NewInt(ordersaga.MaxTotalCents)) > 0:
			if !errors.Is(err, ordersaga.ErrTotalTooLarge) {
				t.Fatalf("total %s over the bound: got %d, %v", exact, got, err)
			}
		default:
			if err != nil || got != exact.Int64() || ordersaga.Total(lines) != got {
				t.Fatalf("total of %v: got %d, %v; want %s", lines, got, err, exact)
			}
		}
	})
}
