package order_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/order"
)

func newOrders(t *testing.T) *order.Store {
	rdb, prefix := redistest.New(t)
	return order.NewStore(rdb, redislua.NewKeyspace(prefix, "order"))
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

func TestRecordResolutionEmitsOneEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := order.NewStore(rdb, redislua.NewKeyspace(prefix, "order"))
	in := activities.ResolutionInput{Key: "order-o1/charge_payment", OrderID: "o1", Step: "charge_payment", By: "ops",
		At: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Reason: "refunded by hand"}
	require.NoError(t, s.RecordResolution(ctx, in))
	require.NoError(t, s.RecordResolution(ctx, in), "a retry records nothing more")
	entries, err := rdb.XRange(ctx, prefix+"{order}:outbox", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	ev, err := events.Decode([]byte(entries[0].Values["event"].(string)))
	require.NoError(t, err)
	require.Equal(t, events.CompensationResolved, ev.Type)
	require.Equal(t, "o1", ev.Subject)
	require.Equal(t, "order-o1", ev.WorkflowID)
	require.JSONEq(t, `{"order_id":"o1","step":"charge_payment","by":"ops","at":"2026-11-26T12:00:00Z","reason":"refunded by hand"}`, string(ev.Data))
}
