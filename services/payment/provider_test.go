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
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/services/payment/paymentsim"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const secret = "provider-secret-0123456789"

// setup starts the simulated provider on real Redis, behind secret, and a
// client for it sending cfg.SecretKey (secret unless set).
func setup(t *testing.T, cfg payment.ProviderConfig) (*payment.Provider, *paymentsim.Provider, *httptest.Server) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	sim := paymentsim.New(rdb, paymentsim.Config{Keyspace: prefix + "paymentsim:", SlowDelay: 400 * time.Millisecond, SecretKey: secret}, quiet)
	if cfg.SecretKey == "" {
		cfg.SecretKey = secret
	}
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

// TestWrongSecretKeyIsRetryable: a provider refusing the key is a
// configuration error, retried (not a business failure) and named.
func TestWrongSecretKeyIsRetryable(t *testing.T) {
	t.Parallel()
	c, sim, _ := setup(t, payment.ProviderConfig{SecretKey: "not-the-" + secret})
	_, err := c.Charge(context.Background(), "k", "tok_ok", 500)
	require.ErrorContains(t, err, "refused the secret key (status 401)")
	require.Equal(t, ordersaga.EINTERNAL, ordersaga.ErrorCode(err), "no domain code: the activity retries it")
	require.ErrorContains(t, c.Refund(context.Background(), "k"), "secret key", "no refund either")
	_, err = c.Authorize(context.Background(), "a", "tok_ok", 500)
	require.ErrorContains(t, err, "secret key")
	require.Equal(t, paymentsim.Ledger{}, ledger(t, sim))
}

// TestAuthorizeCaptureRefundCapture: a hold, captured once, refunded once.
func TestAuthorizeCaptureRefundCapture(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim, _ := setup(t, payment.ProviderConfig{})
	id, err := c.Authorize(ctx, "A", "tok_ok", 99_999_999_999_999)
	require.NoError(t, err)
	again, err := c.Authorize(ctx, "A", "tok_ok", 99_999_999_999_999)
	require.NoError(t, err)
	require.Equal(t, id, again)
	capture, err := c.Capture(ctx, "A")
	require.NoError(t, err)
	require.Equal(t, id, capture.AuthorizationID)
	require.EqualValues(t, 99_999_999_999_999, capture.AmountCents)
	repeat, err := c.Capture(ctx, "A")
	require.NoError(t, err)
	require.Equal(t, capture, repeat)
	for range 2 {
		rel, err := c.RefundCapture(ctx, "A")
		require.NoError(t, err)
		require.Equal(t, payment.Release{Status: "refunded", AuthorizationID: id, CaptureID: capture.CaptureID, AmountCents: 99_999_999_999_999}, rel)
	}
	_, err = c.Capture(ctx, "A")
	require.ErrorIs(t, err, ordersaga.ErrCompensated)
	l := ledger(t, sim)
	require.EqualValues(t, 99_999_999_999_999, l.CapturedCents)
	require.Equal(t, l.CapturedCents, l.RefundedCents)
}

// TestVoid: releases a hold; voids a key before its authorization; a
// captured authorization is refunded instead; a decline is permanent.
func TestVoid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, sim, _ := setup(t, payment.ProviderConfig{})
	id, err := c.Authorize(ctx, "held", "tok_ok", 400)
	require.NoError(t, err)
	rel, err := c.Void(ctx, "held")
	require.NoError(t, err)
	require.Equal(t, payment.Release{Status: "voided", AuthorizationID: id, AmountCents: 400}, rel)
	_, err = c.Capture(ctx, "held")
	require.ErrorIs(t, err, ordersaga.ErrCompensated)

	rel, err = c.Void(ctx, "early")
	require.NoError(t, err)
	require.Equal(t, payment.Release{Status: "voided"}, rel)
	_, err = c.Authorize(ctx, "early", "tok_ok", 400)
	require.ErrorIs(t, err, ordersaga.ErrCompensated)

	_, err = c.Authorize(ctx, "taken", "tok_ok", 250)
	require.NoError(t, err)
	capture, err := c.Capture(ctx, "taken")
	require.NoError(t, err)
	rel, err = c.Void(ctx, "taken")
	require.NoError(t, err)
	require.Equal(t, "refunded", rel.Status, "a captured authorization is refunded")
	require.Equal(t, capture.CaptureID, rel.CaptureID)

	_, err = c.Authorize(ctx, "no", "tok_declined", 400)
	require.ErrorIs(t, err, ordersaga.ErrDeclined)
	rel, err = c.Void(ctx, "no")
	require.NoError(t, err)
	require.Equal(t, "declined", rel.Status)
	_, err = c.Capture(ctx, "missing")
	require.Equal(t, ordersaga.EINVALID, ordersaga.ErrorCode(err))

	require.Equal(t, paymentsim.Ledger{AuthorizedCents: 650, Authorizations: 2, VoidedCents: 400, Voids: 1,
		CapturedCents: 250, Captures: 1, RefundedCents: 250, Refunds: 1}, ledger(t, sim))
}
