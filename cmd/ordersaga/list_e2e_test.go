//go:build !slim

package main

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// list lists orders as key with query and returns their IDs and the next
// page's token.
func (s *stack) list(key, query string) ([]map[string]any, string) {
	s.t.Helper()
	code, body, _ := s.doAs(key, "GET", "/v1/orders"+query, nil)
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	var orders []map[string]any
	for _, o := range body["orders"].([]any) {
		orders = append(orders, o.(map[string]any))
	}
	next, _ := body["next_page_token"].(string)
	return orders, next
}

func ids(orders []map[string]any) []string {
	var out []string
	for _, o := range orders {
		out = append(out, o["order_id"].(string))
	}
	return out
}

// awaitListed polls the listing of key with query until it holds exactly
// want (in any order): visibility follows the sagas a moment behind.
func (s *stack) awaitListed(key, query string, want ...string) []map[string]any {
	s.t.Helper()
	var got []map[string]any
	require.Eventually(s.t, func() bool {
		got, _ = s.list(key, query)
		return assertSameIDs(ids(got), want)
	}, 15*time.Second, 100*time.Millisecond, "listing %q as %s", query, key)
	return got
}

func assertSameIDs(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

// placeFor places an order for customer as key and returns its ID.
func (s *stack) placeFor(key, customer, sku string, qty int) string {
	s.t.Helper()
	code, body, _ := s.doAs(key, "POST", "/v1/orders", map[string]any{
		"customer_id": customer, "items": []map[string]any{{"sku": sku, "quantity": qty}}, "payment_token": "tok_ok"})
	require.Equal(s.t, http.StatusAccepted, code, "%v", body)
	return body["order_id"].(string)
}

// TestListOrders runs `ordersaga dev` with two clients' keys (one client's
// name holds a quote, which the visibility query must escape) and checks that GET /v1/orders shows each client its own orders
// and staff all of them, filters by status and customer, and pages newest
// first with each order exactly once while sagas change status and new ones
// start between the pages.
func TestListOrders(t *testing.T) {
	const oddName, oddKey = "o'neil", "odd-key-0123456789"
	s := startStack(t,
		"--api-keys", "shop:"+e2eShopKey+","+oddName+":"+oddKey,
		"--approver-api-keys", "finance:"+e2eApproverKey,
		"--admin-api-keys", "ops:"+e2eAdminKey)
	s.key = e2eShopKey

	// Oldest first: a, b, g1 (awaits approval), c, g2 (awaits approval), d.
	a := s.placeFor(e2eShopKey, "cust-1", "widget", 1)
	b := s.placeFor(e2eShopKey, "cust-1", "widget", 1)
	g1 := s.placeFor(e2eShopKey, "cust-1", "gizmo", 2)
	c := s.placeFor(e2eShopKey, "cust-1", "widget", 1)
	g2 := s.placeFor(e2eShopKey, "cust-1", "gizmo", 2)
	d := s.placeFor(e2eShopKey, "cust-2", "widget", 1)
	odd := s.placeFor(oddKey, "cust-1", "widget", 1)
	shops := []string{d, g2, c, g1, b, a}

	t.Run("each client sees its own orders, staff every client's", func(t *testing.T) {
		s.awaitListed(e2eShopKey, "", shops...)
		s.awaitListed(oddKey, "", odd)
		s.awaitListed(e2eApproverKey, "", append(shops, odd)...)
		s.awaitListed(e2eAdminKey, "?page_size=100", append(shops, odd)...)
		code, _, _ := s.doAs("", "GET", "/v1/orders", nil)
		require.Equal(t, http.StatusUnauthorized, code)
	})

	t.Run("filters by status and customer", func(t *testing.T) {
		awaiting := s.awaitListed(e2eShopKey, "?status=AWAITING_APPROVAL", g2, g1)
		require.Equal(t, []string{g2, g1}, ids(awaiting), "newest first")
		for _, o := range awaiting {
			require.Equal(t, "AWAITING_APPROVAL", o["status"])
			require.Equal(t, "shop", o["client_id"])
			require.Equal(t, "cust-1", o["customer_id"])
			require.Equal(t, "order-"+o["order_id"].(string), o["workflow_id"])
			require.NotEmpty(t, o["start_time"])
			require.Nil(t, o["close_time"], "still running")
		}
		got := s.awaitListed(e2eShopKey, "?customer_id=cust-2&status=COMPLETED", d)
		require.NotEmpty(t, got[0]["close_time"])
		s.awaitListed(oddKey, "?customer_id=cust-2")
		code, body, _ := s.do("GET", "/v1/orders?status=DONE", nil)
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "status", body["field"])
		code, body, _ = s.do("GET", "/v1/orders?page_token=bm90LWEtdG9rZW4", nil)
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "page_token", body["field"])
	})

	t.Run("pages hold each order once while sagas end and start", func(t *testing.T) {
		for _, id := range shops {
			if id != g1 && id != g2 {
				s.await(id, "COMPLETED")
			}
		}
		first, next := s.list(e2eShopKey, "?page_size=2")
		require.Equal(t, []string{d, g2}, ids(first))
		require.NotEmpty(t, next)

		// Between the pages: both waiting sagas end (g2 was on the first
		// page, g1 not yet), and a new order starts.
		code, body, _ := s.doAs(e2eApproverKey, "POST", "/v1/orders/"+g2+"/approve", nil)
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		code, body, _ = s.do("POST", "/v1/orders/"+g1+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		s.await(g2, "COMPLETED")
		s.await(g1, "CANCELLED")
		newer := s.placeFor(e2eShopKey, "cust-1", "widget", 1)
		s.await(newer, "COMPLETED")
		// Visibility has caught up with all of it before the next pages.
		s.awaitListed(e2eShopKey, "?status=COMPLETED&customer_id=cust-1", g2, c, b, a, newer)
		s.awaitListed(e2eShopKey, "?status=CANCELLED", g1)

		all := ids(first)
		for next != "" {
			var page []map[string]any
			page, next = s.list(e2eShopKey, "?page_size=2&page_token="+url.QueryEscape(next))
			require.LessOrEqual(t, len(page), 2)
			all = append(all, ids(page)...)
		}
		require.Equal(t, shops, all, "every order once, newest first; none started after the first page")
	})
}
