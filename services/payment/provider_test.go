package payment_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/paymentsim"
	"github.com/ordersaga/ordersaga/internal/redistest"
	"github.com/ordersaga/ordersaga/services/payment"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setup starts the simulated provider on real Redis and a client for it.
func setup(t *testing.T, cfg payment.ProviderConfig) (*payment.Provider, *paymentsim.Provider, *httptest.Server) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	sim := paymentsim.New(rdb, paymentsim.Config{Keyspace: prefix + "paymentsim:", SlowDelay: 400 * time.Millisecond}, quiet)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL
	c, err := payment.NewProvider(cfg, quiet)
	require.NoError(t, err)
	return c, sim, srv
}

func ledger(t *testing.T, sim *paymentsim.Provider) paymentsim.Ledger {
	t.Helper()
	l, err := sim.Ledger(context.Background())
	require.NoError(t, err)
	return l
}

func TestChargeIsIdempotentByKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim, _ := setup(t, payment.ProviderConfig{})
	id1, err := c.Charge(ctx, "k1", "tok_ok", 500)
	require.NoError(t, err)
	id2, err := c.Charge(ctx, "k1", "tok_ok", 500)
	require.NoError(t, err)
	require.Equal(t, id1, id2)
	require.Equal(t, paymentsim.Ledger{ChargedCents: 500, Charges: 1}, ledger(t, sim))
}

func TestDeclineIsPermanent(t *testing.T) {
	t.Parallel()
	c, sim, _ := setup(t, payment.ProviderConfig{})
	for range 2 {
		_, err := c.Charge(context.Background(), "k", "tok_declined", 500)
		require.ErrorIs(t, err, ordersaga.ErrDeclined)
		require.NotErrorIs(t, err, payment.ErrTransient)
	}
	require.Equal(t, paymentsim.Ledger{}, ledger(t, sim))
}

func TestFlakyTokenFailsTwiceThenApproves(t *testing.T) {
	t.Parallel()
	c, sim, _ := setup(t, payment.ProviderConfig{})
	for range 2 {
		_, err := c.Charge(context.Background(), "k", "tok_flaky", 700)
		require.ErrorIs(t, err, payment.ErrTransient)
	}
	_, err := c.Charge(context.Background(), "k", "tok_flaky", 700)
	require.NoError(t, err)
	require.EqualValues(t, 1, ledger(t, sim).Charges)
}

func TestSlowTokenTimesOutThenApprovesOnce(t *testing.T) {
	t.Parallel()
	c, sim, _ := setup(t, payment.ProviderConfig{Timeout: 100 * time.Millisecond})
	_, err := c.Charge(context.Background(), "k", "tok_slow", 900)
	require.ErrorIs(t, err, payment.ErrTransient, "the first attempt outlives the client timeout")
	id, err := c.Charge(context.Background(), "k", "tok_slow", 900)
	require.NoError(t, err)
	require.NotEmpty(t, id)
	require.Equal(t, paymentsim.Ledger{ChargedCents: 900, Charges: 1}, ledger(t, sim), "charged once despite two attempts")
}

func TestRefundAndVoid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim, _ := setup(t, payment.ProviderConfig{})
	_, err := c.Charge(ctx, "paid", "tok_ok", 500)
	require.NoError(t, err)
	require.NoError(t, c.Refund(ctx, "paid"))
	require.NoError(t, c.Refund(ctx, "paid"))
	require.Equal(t, paymentsim.Ledger{ChargedCents: 500, RefundedCents: 500, Charges: 1, Refunds: 1}, ledger(t, sim))

	// A refund before any charge voids the key: the late charge is refused.
	require.NoError(t, c.Refund(ctx, "never"))
	_, err = c.Charge(ctx, "never", "tok_ok", 500)
	require.ErrorIs(t, err, ordersaga.ErrCompensated)
	require.EqualValues(t, 1, ledger(t, sim).Charges)
}

func TestCircuitOpensOnTransientFailures(t *testing.T) {
	t.Parallel()
	c, _, srv := setup(t, payment.ProviderConfig{BreakerFailures: 3, BreakerOpen: time.Minute, Timeout: 200 * time.Millisecond})
	srv.Close() // the provider is down
	for range 3 {
		_, err := c.Charge(context.Background(), "k", "tok_ok", 1)
		require.ErrorIs(t, err, payment.ErrTransient)
		require.NotContains(t, err.Error(), "circuit open")
	}
	_, err := c.Charge(context.Background(), "k", "tok_ok", 1)
	require.ErrorIs(t, err, payment.ErrTransient)
	require.ErrorContains(t, err, "circuit open")
}

func TestDeclinesDoNotOpenCircuit(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t, payment.ProviderConfig{BreakerFailures: 2})
	for range 5 {
		_, err := c.Charge(context.Background(), "k", "tok_declined", 1)
		require.True(t, errors.Is(err, ordersaga.ErrDeclined), "got %v", err)
	}
}
