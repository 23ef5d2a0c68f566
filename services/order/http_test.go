package order_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/services/order"
)

const token = "service-token-0123456789"

// TestOrderAPI: the order service's API serves its records to a client
// with the token, through the gateway's client.
func TestOrderAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newOrders(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := servicehttp.NewRouter(token, quiet)
	order.Register(r, s)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c, err := order.NewClient(servicehttp.ClientConfig{BaseURL: srv.URL, Token: token}, quiet)
	require.NoError(t, err)

	_, err = c.Order(ctx, "o1")
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err), "no record before create_order")
	o := ordersaga.Order{ID: "o1", CustomerID: "c1", Items: []ordersaga.Item{{SKU: "a", Quantity: 2}}}
	require.NoError(t, s.Create(ctx, "order-o1/create_order", o))
	require.NoError(t, s.Confirm(ctx, "order-o1/confirm_order", "o1", 500, "ch_1"))
	got, err := c.Order(ctx, "o1")
	require.NoError(t, err)
	o.Status, o.TotalCents, o.ChargeID = ordersaga.OrderConfirmed, 500, "ch_1"
	require.Equal(t, o, got)

	_, err = c.Order(ctx, "a b")
	var e *ordersaga.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "id", e.Field, "the service validates the id")

	resp, err := http.Get(srv.URL + "/orders/o1")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token, no order")
	require.Equal(t, servicehttp.ProblemType, resp.Header.Get("Content-Type"))
}
