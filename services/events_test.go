// Every state change of every service appends exactly its event to the
// service's outbox, in the same script.
package services_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
	"github.com/ordersaga/ordersaga/services/payment"
)

// outbox returns the events in a keyspace's outbox, oldest first.
func outbox(t *testing.T, rdb *redis.Client, ks redislua.Keyspace) []events.Event {
	t.Helper()
	entries, err := rdb.XRange(context.Background(), ks.Outbox(), "-", "+").Result()
	require.NoError(t, err)
	var out []events.Event
	for _, e := range entries {
		ev, err := events.Decode([]byte(e.Values["event"].(string)))
		require.NoError(t, err)
		require.Equal(t, ev.ID, e.Values["id"])
		require.Equal(t, ev.Type, e.Values["type"])
		out = append(out, ev)
	}
	return out
}

func types(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestStateChangesEmitTheirEventsOnce: each state change writes its event in
// the same script; repeats and no-ops write none.
func TestStateChangesEmitTheirEventsOnce(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	orderKS, invKS, payKS := redislua.Keyspace(prefix+"order:"), redislua.Keyspace(prefix+"inventory:"), redislua.Keyspace(prefix+"payment:")
	orders, inv, pay := order.NewStore(rdb, orderKS), inventory.NewStore(rdb, invKS), payment.NewStore(rdb, payKS)
	for range 2 {
		_, err := inv.Put(ctx, "a", 5, 100)
		require.NoError(t, err, "the second Put sets what is there: no event")
	}

	var err error
	o := ordersaga.Order{ID: "o1", CustomerID: "c1", Items: []ordersaga.Item{{SKU: "a", Quantity: 2}}}
	for range 2 {
		require.NoError(t, orders.Create(ctx, "order-o1/create_order", o))
		_, err = inv.Reserve(ctx, "order-o1/reserve_inventory", "o1", o.Items)
		require.NoError(t, err)
		require.NoError(t, pay.RecordCharge(ctx, "order-o1/charge_payment", "o1", "ch_1", 200))
	}
	_, err = inv.Reserve(ctx, "order-o2/reserve_inventory", "o2", []ordersaga.Item{{SKU: "a", Quantity: 99}})
	require.ErrorIs(t, err, ordersaga.ErrOutOfStock)
	require.NoError(t, inv.Release(ctx, "order-o3/reserve_inventory"), "a null compensation emits nothing")
	for range 2 {
		require.NoError(t, inv.Release(ctx, "order-o1/reserve_inventory"))
		require.NoError(t, pay.BeginRefund(ctx, "order-o1/charge_payment", "o1"))
		require.NoError(t, pay.RecordRefund(ctx, "order-o1/charge_payment", "o1"))
		require.NoError(t, orders.Reject(ctx, "order-o1/create_order", "o1", "declined"))
	}
	require.NoError(t, pay.BeginRefund(ctx, "order-o4/charge_payment", "o4"))
	require.NoError(t, pay.RecordRefund(ctx, "order-o4/charge_payment", "o4"), "a void emits nothing")
	_, err = inv.Put(ctx, "a", 7, 100)
	require.NoError(t, err)

	require.Equal(t, []string{events.OrderCreated, events.OrderCancelled}, types(outbox(t, rdb, orderKS)))
	inventory := outbox(t, rdb, invKS)
	require.Equal(t, []string{events.InventoryRestocked, events.InventoryReserved, events.InventoryReleased, events.InventoryRestocked}, types(inventory))
	require.JSONEq(t, `{"order_id":"o1","lines":[{"sku":"a","quantity":2,"unit_price_cents":100}],"total_cents":200}`, string(inventory[1].Data))
	require.Equal(t, "order-o1/reserve_inventory#inventory.reserved", inventory[1].ID)
	require.Equal(t, "order-o1", inventory[1].WorkflowID)
	require.Equal(t, "o1", inventory[1].Subject)
	// A restock is about a SKU, not a saga; each change has its own id.
	restock := inventory[3]
	require.Equal(t, "stock/a/2#inventory.restocked", restock.ID)
	require.Equal(t, "a", restock.Subject)
	require.Empty(t, restock.WorkflowID)
	require.Equal(t, "stock/a/1#inventory.restocked", inventory[0].ID)
	require.JSONEq(t, `{"sku":"a","available":7,"price_cents":100,"previous_available":5,"version":2}`, string(restock.Data))
	payments := outbox(t, rdb, payKS)
	require.Equal(t, []string{events.PaymentCharged, events.PaymentRefunded}, types(payments))
	require.JSONEq(t, `{"order_id":"o1","charge_id":"ch_1","amount_cents":200}`, string(payments[1].Data))
}

// TestAuthorizationEventsOnceAndExact: an authorization's events are
// written once each, with amounts exact at the bound (no float rendering).
func TestAuthorizationEventsOnceAndExact(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	payKS := redislua.Keyspace(prefix + "payment:")
	pay := payment.NewStore(rdb, payKS)
	const max = ordersaga.MaxTotalCents
	capture := payment.ProviderCapture{CaptureID: "cp_1", AuthorizationID: "au_1", AmountCents: max}
	for range 2 {
		require.NoError(t, pay.RecordAuthorization(ctx, "order-o1/authorize_payment", "o1", "au_1", max))
	}
	for range 2 {
		require.NoError(t, pay.RecordCapture(ctx, "order-o1/authorize_payment", "order-o1/capture_payment", "o1", capture))
	}
	for range 2 {
		require.NoError(t, pay.BeginRelease(ctx, "order-o1/authorize_payment", "o1"))
		require.NoError(t, pay.RecordRelease(ctx, "order-o1/authorize_payment", "order-o1/capture_payment", "o1",
			payment.Release{Status: "refunded", AuthorizationID: "au_1", CaptureID: "cp_1", AmountCents: max}))
	}
	require.NoError(t, pay.RecordAuthorization(ctx, "order-o2/authorize_payment", "o2", "au_2", 700))
	for range 2 {
		require.NoError(t, pay.BeginRelease(ctx, "order-o2/authorize_payment", "o2"))
		require.NoError(t, pay.RecordRelease(ctx, "order-o2/authorize_payment", "order-o2/authorize_payment", "o2",
			payment.Release{Status: "voided", AuthorizationID: "au_2", AmountCents: 700}))
	}
	require.NoError(t, pay.BeginRelease(ctx, "order-o3/authorize_payment", "o3"))
	require.NoError(t, pay.RecordRelease(ctx, "order-o3/authorize_payment", "order-o3/authorize_payment", "o3",
		payment.Release{Status: "voided"}), "a key voided before its authorization emits nothing")

	evs := outbox(t, rdb, payKS)
	require.Equal(t, []string{events.PaymentAuthorized, events.PaymentCaptured, events.PaymentRefunded, events.PaymentAuthorized, events.PaymentVoided}, types(evs))
	require.JSONEq(t, `{"order_id":"o1","authorization_id":"au_1","amount_cents":99999999999999}`, string(evs[0].Data))
	require.JSONEq(t, `{"order_id":"o1","authorization_id":"au_1","charge_id":"cp_1","amount_cents":99999999999999}`, string(evs[1].Data))
	require.Equal(t, "order-o1/capture_payment#payment.captured", evs[1].ID)
	require.JSONEq(t, `{"order_id":"o1","authorization_id":"au_1","charge_id":"cp_1","amount_cents":99999999999999}`, string(evs[2].Data))
	require.Equal(t, "order-o1/capture_payment#payment.refunded", evs[2].ID)
	require.JSONEq(t, `{"order_id":"o2","authorization_id":"au_2","amount_cents":700}`, string(evs[4].Data))
	require.Equal(t, "order-o2/authorize_payment#payment.voided", evs[4].ID)
}

// TestRefundAmountsAreExact: a refund's event carries the charge's amount
// as the exact integer, at the bound.
func TestRefundAmountsAreExact(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	payKS := redislua.Keyspace(prefix + "payment:")
	pay := payment.NewStore(rdb, payKS)
	require.NoError(t, pay.RecordCharge(ctx, "order-o1/charge_payment", "o1", "ch_1", ordersaga.MaxTotalCents))
	require.NoError(t, pay.BeginRefund(ctx, "order-o1/charge_payment", "o1"))
	require.NoError(t, pay.RecordRefund(ctx, "order-o1/charge_payment", "o1"))
	evs := outbox(t, rdb, payKS)
	require.Equal(t, []string{events.PaymentCharged, events.PaymentRefunded}, types(evs))
	require.JSONEq(t, `{"order_id":"o1","charge_id":"ch_1","amount_cents":99999999999999}`, string(evs[0].Data))
	require.JSONEq(t, `{"order_id":"o1","charge_id":"ch_1","amount_cents":99999999999999}`, string(evs[1].Data))
}
