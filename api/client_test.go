package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api/client"
)

// TestGeneratedClientDrivesTheAPI: the client generated from the OpenAPI
// document places, reads, lists and steers orders and reads and writes
// stock against the API, decoding each answer, problems included; every
// exchange is checked against the document on the way.
func TestGeneratedClientDrivesTheAPI(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newSecureAPI(t, &fakeSagas{}, nil, scopedAuth))
	t.Cleanup(srv.Close)
	as := func(key string) *client.ClientWithResponses {
		c, err := client.NewClientWithResponses(srv.URL, client.WithHTTPClient(&http.Client{Transport: checker.Transport(nil)}),
			client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
				r.Header.Set("Authorization", "Bearer "+key)
				return nil
			}))
		require.NoError(t, err)
		return c
	}
	ctx := context.Background()
	shop, admin := as(shopKey), as(adminKey)

	key := "place-1"
	order := client.CreateOrderRequest{CustomerID: "c-1", Items: []client.Item{{SKU: "widget", Quantity: 2}}, PaymentToken: "tok_ok"}
	placed, err := shop.CreateOrderWithResponse(ctx, &client.CreateOrderParams{IdempotencyKey: &key}, order)
	require.NoError(t, err)
	require.NotNil(t, placed.JSON202, "%d %s", placed.StatusCode(), placed.Body)
	id := placed.JSON202.OrderID
	require.Equal(t, "/v1/orders/"+id, placed.Headers202.Location)
	again, err := shop.CreateOrderWithResponse(ctx, &client.CreateOrderParams{IdempotencyKey: &key}, order)
	require.NoError(t, err)
	require.Equal(t, id, again.JSON202.OrderID)
	require.Equal(t, "true", *again.Headers202.IdempotentReplayed)

	view, err := shop.GetOrderWithResponse(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, client.SagaStatusRUNNING, view.JSON200.Status)
	require.Nil(t, view.JSON200.Payment, "no payment yet")

	list, err := shop.ListOrdersWithResponse(ctx, &client.ListOrdersParams{PageSize: new(int32(10))})
	require.NoError(t, err)
	require.Len(t, list.JSON200.Orders, 1)

	events, err := shop.GetOrderEventsWithResponse(ctx, id, nil)
	require.NoError(t, err)
	require.Empty(t, events.JSON200.Events)

	refused, err := shop.CancelOrderWithResponse(ctx, id, nil, client.CancelRequest{})
	require.NoError(t, err)
	require.Equal(t, "conflict", refused.ApplicationProblemJSON409.Code, "the fake refuses cancels as after the pivot")

	forbidden, err := shop.ApproveOrderWithResponse(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, forbidden.ApplicationProblemJSON403.Status)
	approved, err := admin.ApproveOrderWithResponse(ctx, id, nil)
	require.NoError(t, err)
	require.Equal(t, client.UpdateAcceptedAcceptedApprove, approved.JSON202.Accepted)

	resolved, err := admin.ResolveCompensationWithResponse(ctx, id, client.CompensatedStepChargePayment, nil,
		client.ResolveRequest{Reason: "refunded by hand"})
	require.NoError(t, err)
	require.Equal(t, client.CompensatedStepChargePayment, *resolved.JSON202.Step)

	stock, err := admin.PutStockWithResponse(ctx, "gadget", nil, client.PutStockRequest{Available: 3, PriceCents: 900})
	require.NoError(t, err)
	require.Equal(t, client.Stock{SKU: "gadget", Available: 3, PriceCents: 900}, *stock.JSON200)
	missing, err := shop.GetStockWithResponse(ctx, "nope", nil)
	require.NoError(t, err)
	require.Equal(t, "not_found", missing.ApplicationProblemJSON404.Code)
}
