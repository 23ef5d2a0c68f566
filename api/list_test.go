package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// List lists the known orders f selects (by client only), records the
// last request, and ignores paging.
func (f *fakeSagas) List(_ context.Context, filter sagaclient.Filter, size int, token string) (sagaclient.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listed = append(f.listed, listRequest{filter, size, token})
	var page sagaclient.Page
	for id, owner := range f.owners {
		if filter.ClientID == "" || filter.ClientID == owner {
			page.Orders = append(page.Orders, sagaclient.Summary{OrderID: id, WorkflowID: workflows.WorkflowID(id), ClientID: owner,
				Status: workflows.StatusRunning, StartTime: time.Now()})
		}
	}
	return page, f.err
}

type listRequest struct {
	filter sagaclient.Filter
	size   int
	token  string
}

func listed(t *testing.T, h http.Handler, key, query string) []string {
	t.Helper()
	rec, _ := send(t, h, "GET", "/v1/orders"+query, "", bearer(key)...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out api.OrderList
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.NotNil(t, out.Orders, "an empty list is [], not null")
	var ids []string
	for _, o := range out.Orders {
		ids = append(ids, o.OrderID)
	}
	slices.Sort(ids)
	return ids
}

// TestListShowsAClientItsOwnOrders: a client lists its own orders only;
// approvers and admins list every client's.
func TestListShowsAClientItsOwnOrders(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{}
	h := newSecureAPI(t, sagas, nil, scopedAuth)
	shops, others := placeOrder(t, h, shopKey), placeOrder(t, h, otherKey)
	all := []string{shops, others}
	slices.Sort(all)
	require.Equal(t, []string{shops}, listed(t, h, shopKey, ""))
	require.Equal(t, []string{others}, listed(t, h, otherKey, "?customer_id=c-1"))
	require.Equal(t, all, listed(t, h, approverKey, ""))
	require.Equal(t, all, listed(t, h, adminKey, ""))
	rec, _ := send(t, h, "GET", "/v1/orders", "")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}

// TestListQueryIsValidated ensures every query parameter is checked and a
// bad one answers a 400 problem naming it, and that valid ones reach the
// saga client.
func TestListQueryIsValidated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query, field string
	}{
		{"?status=DONE", "status"},
		{"?status=completed", "status"},
		{"?page_size=0", "page_size"},
		{"?page_size=101", "page_size"},
		{"?page_size=ten", "page_size"},
		{"?page_token=not*a*token", "page_token"},
		{"?customer_id=a%20b", "customer_id"},
		{"?customer_id=", "customer_id"},
		{"?customer_id=a&customer_id=b", "customer_id"},
		{"?sort=asc", "sort"},
	}
	sagas := &fakeSagas{}
	h := newAPI(sagas)
	for _, tc := range tests {
		rec, p := send(t, h, "GET", "/v1/orders"+tc.query, "")
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", tc.query, rec.Body)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		require.Equal(t, tc.field, p.Field, tc.query)
	}
	require.Empty(t, sagas.listed, "nothing invalid reaches Temporal")

	listed(t, h, "", "")
	listed(t, h, "", "?customer_id=cust-1&status=AWAITING_APPROVAL&page_size=100&page_token=eyJzIjoiIn0")
	require.Equal(t, []listRequest{
		{size: 20},
		{filter: sagaclient.Filter{CustomerID: "cust-1", Status: "AWAITING_APPROVAL"}, size: 100, token: "eyJzIjoiIn0"},
	}, sagas.listed)
}

// TestListRefusesATokenItDidNotIssue: a well-formed page token the saga
// client did not issue is a 400 naming page_token (the contract marks it
// x-opaque: only the API can tell).
func TestListRefusesATokenItDidNotIssue(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{err: ordersaga.Invalid("page_token", "page_token is not a token this API returned")}
	rec, p := send(t, newAPI(sagas), "GET", "/v1/orders?page_token=bm90LWEtdG9rZW4", "")
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	require.Equal(t, "page_token", p.Field)
}
