package payment_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/payment"
)

const token = "service-token-0123456789"

// TestPaymentAPI: the record script indexes each payment by its order; the
// API serves charges, declines and voided keys, and nothing before.
func TestPaymentAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := payment.NewStore(rdb, redislua.NewKeyspace(prefix, "payment"))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := servicehttp.NewRouter(token, quiet)
	payment.Register(r, s)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c, err := payment.NewClient(servicehttp.ClientConfig{BaseURL: srv.URL, Token: token}, quiet)
	require.NoError(t, err)

	_, err = c.Payment(ctx, "o1")
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err), "no payment before the charge step")
	require.NoError(t, s.RecordCharge(ctx, "order-o1/charge_payment", "o1", "ch_1", 500))
	require.NoError(t, s.RecordDecline(ctx, "order-o2/charge_payment", "o2", "card declined"))
	require.NoError(t, s.BeginRefund(ctx, "order-o3/charge_payment", "o3"))
	require.NoError(t, s.RecordRefund(ctx, "order-o3/charge_payment", "o3"))

	for id, want := range map[string]ordersaga.Payment{
		"o1": {OrderID: "o1", State: "charged", ChargeID: "ch_1", AmountCents: 500},
		"o2": {OrderID: "o2", State: "declined", Reason: "card declined"},
		"o3": {OrderID: "o3", State: "refunded"}, // a voided key: nothing charged
	} {
		got, err := c.Payment(ctx, id)
		require.NoError(t, err, id)
		require.Equal(t, want, got, id)
	}
	require.NoError(t, s.BeginRefund(ctx, "order-o1/charge_payment", "o1"))
	require.NoError(t, s.RecordRefund(ctx, "order-o1/charge_payment", "o1"))
	got, err := c.Payment(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, ordersaga.Payment{OrderID: "o1", State: "refunded", ChargeID: "ch_1", AmountCents: 500}, got)

	resp, err := http.Get(srv.URL + "/payments/o1")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token, no payment")
}
