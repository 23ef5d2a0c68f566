package redisstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redisstore"
	"github.com/ordersaga/ordersaga/internal/redistest"
)

func newOrders(t *testing.T) *redisstore.Orders {
	rdb, prefix := redistest.New(t)
	return redisstore.NewOrders(rdb, redisstore.Keyspace(prefix+"order:"))
}

func TestOrderLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newOrders(t)
	o := ordersaga.Order{ID: "o1", CustomerID: "c1", Items: []ordersaga.Item{{SKU: "a", Quantity: 1}}}
	require.NoError(t, s.Create(ctx, "k", o))
	require.NoError(t, s.Create(ctx, "k", o), "a repeat is a no-op")
	got, err := s.Get(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, ordersaga.OrderPending, got.Status)
	require.Equal(t, o.Items, got.Items)

	require.NoError(t, s.Confirm(ctx, "k", "o1", 500, "ch_1"))
	require.NoError(t, s.Confirm(ctx, "k", "o1", 500, "ch_1"))
	got, err = s.Get(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, ordersaga.Order{ID: "o1", CustomerID: "c1", Items: o.Items, Status: ordersaga.OrderConfirmed,
		TotalCents: 500, ChargeID: "ch_1"}, got)
}

func TestRejectOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newOrders(t)
	require.NoError(t, s.Create(ctx, "k", ordersaga.Order{ID: "o1", CustomerID: "c1"}))
	require.NoError(t, s.Reject(ctx, "k", "o1", "out of stock"))
	require.NoError(t, s.Reject(ctx, "k", "o1", "again"))
	got, err := s.Get(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, ordersaga.OrderRejected, got.Status)
	require.Equal(t, "out of stock", got.Reason)
	require.Equal(t, ordersaga.ECONFLICT, ordersaga.ErrorCode(s.Confirm(ctx, "k", "o1", 1, "x")))
}

func TestRejectBeforeCreateBlocksLateCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newOrders(t)
	require.NoError(t, s.Reject(ctx, "k", "o1", "cancelled"))
	require.ErrorIs(t, s.Create(ctx, "k", ordersaga.Order{ID: "o1"}), ordersaga.ErrCompensated)
	_, err := s.Get(ctx, "o1")
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err))
}
