package services_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/services/payment/paymentsim"
)

// services wires the real activities to real Redis and the simulated
// provider, and runs them in Temporal's activity test environment.
type services struct {
	env       *testsuite.TestActivityEnvironment
	pay       *payment.Provider
	sim       *paymentsim.Provider
	inventory *inventory.Store
	payments  *payment.Store
}

func newServices(t *testing.T) *services {
	t.Helper()
	rdb, prefix := redistest.New(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sim := paymentsim.New(rdb, paymentsim.Config{Keyspace: prefix + "paymentsim:", SecretKey: "provider-secret-0123"}, quiet)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	pay, err := payment.NewProvider(payment.ProviderConfig{BaseURL: srv.URL, SecretKey: "provider-secret-0123"}, quiet)
	require.NoError(t, err)
	s := &services{sim: sim, pay: pay, inventory: inventory.NewStore(rdb, redislua.Keyspace(prefix+"inventory:")),
		payments: payment.NewStore(rdb, redislua.Keyspace(prefix+"payment:"))}
	var suite testsuite.WorkflowTestSuite
	s.env = suite.NewTestActivityEnvironment()
	s.env.RegisterActivity(&payment.Activities{Provider: pay, Store: s.payments})
	s.env.RegisterActivity(&inventory.Activities{Store: s.inventory})
	s.env.RegisterActivity(&order.Activities{Store: order.NewStore(rdb, redislua.Keyspace(prefix+"order:"))})
	return s
}

// appErrorType returns the application error type of err and whether it is
// non-retryable.
func appErrorType(t *testing.T, err error) (string, bool) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an application error, got %v", err)
	return appErr.Type(), appErr.NonRetryable()
}

func TestBusinessFailuresAreNonRetryableAndTyped(t *testing.T) {
	s := newServices(t)
	_, err := s.inventory.Put(context.Background(), "a", 1, 100)
	require.NoError(t, err)

	_, err = s.env.ExecuteActivity(activities.ReserveInventoryName, activities.ReserveInput{Key: "wf/reserve", OrderID: "o1",
		Items: []ordersaga.Item{{SKU: "a", Quantity: 2}}})
	typ, nonRetryable := appErrorType(t, err)
	require.Equal(t, activities.ErrOutOfStock, typ)
	require.True(t, nonRetryable)

	_, err = s.env.ExecuteActivity(activities.ReserveInventoryName, activities.ReserveInput{Key: "wf2/reserve", OrderID: "o2",
		Items: []ordersaga.Item{{SKU: "zzz", Quantity: 1}}})
	typ, _ = appErrorType(t, err)
	require.Equal(t, activities.ErrUnknownSKU, typ)

	_, err = s.env.ExecuteActivity(activities.ChargePaymentName, activities.ChargeInput{Key: "wf/charge", OrderID: "o1",
		Token: "tok_declined", AmountCents: 500})
	typ, nonRetryable = appErrorType(t, err)
	require.Equal(t, activities.ErrPaymentDeclined, typ)
	require.True(t, nonRetryable)
}

func TestTransientPaymentFailureIsRetryable(t *testing.T) {
	s := newServices(t)
	_, err := s.env.ExecuteActivity(activities.ChargePaymentName, activities.ChargeInput{Key: "wf/charge", OrderID: "o1",
		Token: "tok_flaky", AmountCents: 500})
	_, nonRetryable := appErrorType(t, err)
	require.False(t, nonRetryable)
	require.ErrorContains(t, err, "503")
}

// TestProviderOutageIsRetryable: with the provider unreachable the charge
// fails retryably, also once the circuit breaker is open, so the saga keeps
// retrying it within its retry budget.
func TestProviderOutageIsRetryable(t *testing.T) {
	s := newServices(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	pay, err := payment.NewProvider(payment.ProviderConfig{BaseURL: down.URL, BreakerFailures: 1, BreakerOpen: time.Minute},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&payment.Activities{Provider: pay, Store: s.payments})
	for _, want := range []string{"connection refused", "circuit open"} {
		_, err := env.ExecuteActivity(activities.ChargePaymentName, activities.ChargeInput{Key: "wf/charge", OrderID: "o1",
			Token: "tok_ok", AmountCents: 500})
		_, nonRetryable := appErrorType(t, err)
		require.False(t, nonRetryable, want)
		require.ErrorContains(t, err, want)
	}
}

func TestChargeThenRefund(t *testing.T) {
	s := newServices(t)
	in := activities.ChargeInput{Key: "wf/charge", OrderID: "o1", Token: "tok_ok", AmountCents: 700}
	v, err := s.env.ExecuteActivity(activities.ChargePaymentName, in)
	require.NoError(t, err)
	var first activities.Charge
	require.NoError(t, v.Get(&first))
	v, err = s.env.ExecuteActivity(activities.ChargePaymentName, in)
	require.NoError(t, err)
	var again activities.Charge
	require.NoError(t, v.Get(&again))
	require.Equal(t, first.ChargeID, again.ChargeID, "a retried charge returns the first result")

	for range 2 {
		_, err = s.env.ExecuteActivity(activities.RefundPaymentName, activities.RefundInput{Key: in.Key, OrderID: "o1", AmountCents: 700})
		require.NoError(t, err)
	}
	l, err := s.sim.Ledger(context.Background())
	require.NoError(t, err)
	require.Equal(t, paymentsim.Ledger{ChargedCents: 700, RefundedCents: 700, Charges: 1, Refunds: 1}, l)
}

// TestRefundBeforeChargeLeavesNoMoneyTaken: a compensation that ran first
// (the charge was cancelled mid-flight) makes the late charge a refused no-op.
func TestRefundBeforeChargeLeavesNoMoneyTaken(t *testing.T) {
	s := newServices(t)
	_, err := s.env.ExecuteActivity(activities.RefundPaymentName, activities.RefundInput{Key: "wf/charge", OrderID: "o1", AmountCents: 700})
	require.NoError(t, err)
	_, err = s.env.ExecuteActivity(activities.ChargePaymentName, activities.ChargeInput{Key: "wf/charge", OrderID: "o1",
		Token: "tok_ok", AmountCents: 700})
	typ, nonRetryable := appErrorType(t, err)
	require.Equal(t, activities.ErrAlreadyCompensated, typ)
	require.True(t, nonRetryable)
	l, err := s.sim.Ledger(context.Background())
	require.NoError(t, err)
	require.Zero(t, l.Charges)
}

func TestCreateOrderAfterRejectIsRefused(t *testing.T) {
	s := newServices(t)
	_, err := s.env.ExecuteActivity(activities.RejectOrderName, activities.RejectOrderInput{Key: "wf/create", OrderID: "o1", Reason: "cancelled"})
	require.NoError(t, err)
	_, err = s.env.ExecuteActivity(activities.CreateOrderName, activities.CreateOrderInput{Key: "wf/create", OrderID: "o1", CustomerID: "c"})
	typ, _ := appErrorType(t, err)
	require.Equal(t, activities.ErrAlreadyCompensated, typ)
}

// TestHoldLimitIsABusinessFailure: a reservation past the client's share
// fails as HoldLimit, non-retryable; without a client there is no bound.
func TestHoldLimitIsABusinessFailure(t *testing.T) {
	s := newServices(t)
	_, err := s.inventory.Put(context.Background(), "a", 5, 100)
	require.NoError(t, err)
	_, err = s.env.ExecuteActivity(activities.ReserveInventoryName, activities.ReserveInput{Key: "wf/reserve", OrderID: "o1",
		ClientID: "client-b", Items: []ordersaga.Item{{SKU: "a", Quantity: 5}}})
	typ, nonRetryable := appErrorType(t, err)
	require.Equal(t, activities.ErrHoldLimit, typ)
	require.True(t, nonRetryable)
	_, err = s.env.ExecuteActivity(activities.ReserveInventoryName, activities.ReserveInput{Key: "wf2/reserve", OrderID: "o2",
		Items: []ordersaga.Item{{SKU: "a", Quantity: 5}}})
	require.NoError(t, err, "an old saga's input, without a client")
}
