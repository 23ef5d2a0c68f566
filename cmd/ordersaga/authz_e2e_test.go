//go:build !slim

package main

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/testkit/faultproxy"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

const (
	e2eShopKey     = "shop-key-0123456789"
	e2eOtherKey    = "other-key-0123456789"
	e2eApproverKey = "approver-key-012345"
	e2eAdminKey    = "admin-key-0123456789"
)

// TestScopesAndOperatorActions runs `ordersaga dev` with keys of every role
// and the inventory service's Redis behind a proxy that can cut it, and
// checks who may do what, that approvals are deduplicated, and that an
// operator can retry or resolve a compensation stuck on a Redis outage.
func TestScopesAndOperatorActions(t *testing.T) {
	u, err := url.Parse(redistest.URL())
	require.NoError(t, err)
	proxy, err := faultproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	s := startStack(t,
		"--api-keys", "shop:"+e2eShopKey+",other:"+e2eOtherKey,
		"--approver-api-keys", "finance:"+e2eApproverKey,
		"--admin-api-keys", "ops:"+e2eAdminKey,
		"--inventory-redis-url", proxy.URL(redistest.URL()),
		"--compensation-alert-attempts", "2", "--compensation-max-interval", "1m")
	s.key = e2eShopKey

	t.Run("a client reaches only its own orders; approvers approve, once", func(t *testing.T) {
		id := s.order("gizmo", 2, "tok_ok")
		s.await(id, "AWAITING_APPROVAL")
		o := "/v1/orders/" + id
		for _, c := range []struct {
			key, method, path string
			want              int
		}{
			{"", "GET", o, 401},
			{e2eOtherKey, "GET", o, 404},
			{e2eOtherKey, "GET", o + "/events", 404},
			{e2eOtherKey, "POST", o + "/cancel", 404},
			{e2eShopKey, "POST", o + "/approve", 403},
			{e2eApproverKey, "POST", "/v1/orders", 403},
			{e2eShopKey, "POST", o + "/compensations/reserve_inventory/retry", 403},
			{e2eApproverKey, "GET", o, 200},
		} {
			code, body, _ := s.doAs(c.key, c.method, c.path, nil)
			require.Equal(t, c.want, code, "%s %s as %q: %v", c.method, c.path, c.key, body)
		}
		for range 2 {
			code, body, _ := s.doAs(e2eApproverKey, "POST", o+"/approve", nil, "Idempotency-Key", "approve-"+id)
			require.Equal(t, 202, code, "%v", body)
		}
		done := s.await(id, "COMPLETED")
		require.Equal(t, "finance", done["approved_by"])
		require.Equal(t, "shop", done["client_id"])
	})

	t.Run("an operator resolves a compensation stuck on a Redis outage", func(t *testing.T) {
		id := s.order("gizmo", 2, "tok_ok")
		s.await(id, "AWAITING_APPROVAL")
		proxy.Cut()
		t.Cleanup(proxy.Restore)
		code, body, _ := s.do("POST", "/v1/orders/"+id+"/cancel", map[string]string{"reason": "changed my mind"})
		require.Equal(t, 202, code, "%v", body)
		stuck := s.await(id, "FAILED")
		require.Equal(t, "compensating", step(stuck, "reserve_inventory")["status"])
		require.NotEmpty(t, step(stuck, "reserve_inventory")["compensation_error"])
		require.Equal(t, "completed", step(stuck, "create_order")["status"], "the order waits for the stock it rests on")

		path := "/v1/orders/" + id + "/compensations/reserve_inventory/resolve"
		code, body, _ = s.doAs(e2eApproverKey, "POST", path, map[string]string{"reason": "x"})
		require.Equal(t, 403, code, "%v", body)
		code, body, _ = s.doAs(e2eAdminKey, "POST", path, map[string]string{})
		require.Equal(t, 400, code, "%v", body)
		require.Equal(t, "reason", body["field"])
		code, body, _ = s.doAs(e2eAdminKey, "POST", path, map[string]string{"reason": "released the reservation by hand"})
		require.Equal(t, 202, code, "%v", body)

		done := s.await(id, "CANCELLED")
		inv := step(done, "reserve_inventory")
		require.Equal(t, "resolved", inv["status"])
		res := inv["resolution"].(map[string]any)
		require.Equal(t, "ops", res["by"])
		require.Equal(t, "released the reservation by hand", res["reason"])
		require.NotEmpty(t, res["at"])
		require.Equal(t, "compensated", step(done, "create_order")["status"])
		require.Contains(t, s.eventTypes(id, 3), "saga.compensation_resolved")

		code, body, _ = s.doAs(e2eAdminKey, "POST", path, map[string]string{"reason": "again"})
		require.Equal(t, 409, code, "an ended saga takes no operator action: %v", body)
		proxy.Restore()
	})

	t.Run("an operator's retry skips the wait before the next attempt", func(t *testing.T) {
		id := s.order("gizmo", 2, "tok_ok")
		s.await(id, "AWAITING_APPROVAL")
		proxy.Cut()
		t.Cleanup(proxy.Restore)
		code, body, _ := s.do("POST", "/v1/orders/"+id+"/cancel", nil)
		require.Equal(t, 202, code, "%v", body)
		s.await(id, "FAILED")
		proxy.Restore()
		// The server's next attempt is a minute away; the operator's is now.
		start := time.Now()
		code, body, _ = s.doAs(e2eAdminKey, "POST", "/v1/orders/"+id+"/compensations/reserve_inventory/retry", nil)
		require.Equal(t, 202, code, "%v", body)
		done := s.await(id, "CANCELLED")
		require.Less(t, time.Since(start), 30*time.Second)
		require.Equal(t, "compensated", step(done, "reserve_inventory")["status"])
		require.Equal(t, "compensated", step(done, "create_order")["status"])
	})
}
