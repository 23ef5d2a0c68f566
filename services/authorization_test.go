package services_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/services/payment/paymentsim"
)

func (s *services) ledger(t *testing.T) paymentsim.Ledger {
	t.Helper()
	l, err := s.sim.Ledger(context.Background())
	require.NoError(t, err)
	return l
}

// TestAuthorizeDeclineIsPaymentDeclined: a declined card ends the step as
// the business failure PaymentDeclined, holding nothing.
func TestAuthorizeDeclineIsPaymentDeclined(t *testing.T) {
	s := newServices(t)
	_, err := s.env.ExecuteActivity(activities.AuthorizePaymentName, activities.AuthorizeInput{Key: "wf/authorize_payment", OrderID: "o1",
		Token: "tok_declined", AmountCents: 500})
	typ, nonRetryable := appErrorType(t, err)
	require.Equal(t, activities.ErrPaymentDeclined, typ)
	require.True(t, nonRetryable)
	p, err := s.payments.Payment(context.Background(), "o1")
	require.NoError(t, err)
	require.Equal(t, "declined", p.State)
	require.Zero(t, s.ledger(t).AuthorizedCents)

	_, err = s.env.ExecuteActivity(activities.AuthorizePaymentName, activities.AuthorizeInput{Key: "wf/x", OrderID: "o2",
		Token: "tok_ok", AmountCents: 100_000_000_000_000})
	typ, _ = appErrorType(t, err)
	require.Equal(t, activities.ErrInvalidInput, typ, "an amount past the bound")
}

// TestAuthorizeThenVoid: a hold released by its compensation, once.
func TestAuthorizeThenVoid(t *testing.T) {
	s := newServices(t)
	in := activities.AuthorizeInput{Key: "wf/authorize_payment", OrderID: "o1", Token: "tok_ok", AmountCents: 700}
	var first, again activities.Authorization
	v, err := s.env.ExecuteActivity(activities.AuthorizePaymentName, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&first))
	v, err = s.env.ExecuteActivity(activities.AuthorizePaymentName, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&again))
	require.Equal(t, first.AuthorizationID, again.AuthorizationID)
	require.EqualValues(t, 700, first.AmountCents)
	for range 2 {
		_, err = s.env.ExecuteActivity(activities.VoidPaymentName, activities.VoidInput{Key: in.Key, OrderID: "o1"})
		require.NoError(t, err)
	}
	require.Equal(t, paymentsim.Ledger{AuthorizedCents: 700, Authorizations: 1, VoidedCents: 700, Voids: 1}, s.ledger(t))
	p, err := s.payments.Payment(context.Background(), "o1")
	require.NoError(t, err)
	require.Equal(t, "voided", p.State)
}

// TestVoidBeforeAuthorizeRefusesIt: the compensation ran first (the
// authorization was cancelled mid-flight); the late one is refused and
// holds nothing.
func TestVoidBeforeAuthorizeRefusesIt(t *testing.T) {
	s := newServices(t)
	_, err := s.env.ExecuteActivity(activities.VoidPaymentName, activities.VoidInput{Key: "wf/authorize_payment", OrderID: "o1"})
	require.NoError(t, err)
	_, err = s.env.ExecuteActivity(activities.AuthorizePaymentName, activities.AuthorizeInput{Key: "wf/authorize_payment", OrderID: "o1",
		Token: "tok_ok", AmountCents: 700})
	typ, nonRetryable := appErrorType(t, err)
	require.Equal(t, activities.ErrAlreadyCompensated, typ)
	require.True(t, nonRetryable)
	// Even straight at the provider: the key is voided there too.
	_, err = s.pay.Authorize(context.Background(), "wf/authorize_payment", "tok_ok", 700)
	require.Error(t, err)
	require.Zero(t, s.ledger(t).Authorizations)
}

// TestCaptureOnceThenRefundCapture: the pivot captures the authorized
// amount once; its compensation refunds it once; the void after it keeps
// nothing held or taken.
func TestCaptureOnceThenRefundCapture(t *testing.T) {
	s := newServices(t)
	auth := activities.AuthorizeInput{Key: "wf/authorize_payment", OrderID: "o1", Token: "tok_ok", AmountCents: 99_999_999_999_999}
	_, err := s.env.ExecuteActivity(activities.AuthorizePaymentName, auth)
	require.NoError(t, err)
	in := activities.CaptureInput{Key: "wf/capture_payment", AuthorizationKey: auth.Key, OrderID: "o1", AmountCents: auth.AmountCents}
	var first, again activities.Capture
	v, err := s.env.ExecuteActivity(activities.CapturePaymentName, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&first))
	v, err = s.env.ExecuteActivity(activities.CapturePaymentName, in)
	require.NoError(t, err)
	require.NoError(t, v.Get(&again))
	require.Equal(t, first.ChargeID, again.ChargeID)
	require.EqualValues(t, 99_999_999_999_999, first.AmountCents)

	wrong := in
	wrong.AmountCents = 5
	_, err = s.env.ExecuteActivity(activities.CapturePaymentName, wrong)
	typ, _ := appErrorType(t, err)
	require.Equal(t, activities.ErrInvalidInput, typ, "a capture of another amount than authorized")

	for range 2 {
		_, err = s.env.ExecuteActivity(activities.RefundCaptureName, activities.RefundCaptureInput{Key: in.Key, AuthorizationKey: auth.Key, OrderID: "o1"})
		require.NoError(t, err)
	}
	_, err = s.env.ExecuteActivity(activities.VoidPaymentName, activities.VoidInput{Key: auth.Key, OrderID: "o1"})
	require.NoError(t, err)
	l := s.ledger(t)
	require.EqualValues(t, 1, l.Captures)
	require.Equal(t, l.CapturedCents, l.RefundedCents, "nothing kept")
	require.Zero(t, l.VoidedCents, "the void after the refund releases nothing more")
	p, err := s.payments.Payment(context.Background(), "o1")
	require.NoError(t, err)
	require.Equal(t, "refunded", p.State)
	require.Equal(t, first.ChargeID, p.ChargeID)
}

// TestCaptureRacesItsCompensation runs captures and their compensations
// concurrently: whichever reaches the store or the provider first wins,
// and in the end nothing is held or kept. Run with -race.
func TestCaptureRacesItsCompensation(t *testing.T) {
	s := newServices(t)
	const orders = 20
	env := func() *testsuite.TestActivityEnvironment {
		var suite testsuite.WorkflowTestSuite
		e := suite.NewTestActivityEnvironment()
		e.RegisterActivity(&payment.Activities{Provider: s.pay, Store: s.payments})
		return e
	}
	var wg sync.WaitGroup
	for i := range orders {
		auth := activities.AuthorizeInput{Key: fmt.Sprintf("wf%d/authorize_payment", i), OrderID: fmt.Sprintf("o%d", i), Token: "tok_ok", AmountCents: 100}
		_, err := env().ExecuteActivity(activities.AuthorizePaymentName, auth)
		require.NoError(t, err)
		capture := activities.CaptureInput{Key: fmt.Sprintf("wf%d/capture_payment", i), AuthorizationKey: auth.Key, OrderID: auth.OrderID}
		wg.Go(func() { _, _ = env().ExecuteActivity(activities.CapturePaymentName, capture) })
		wg.Go(func() {
			_, err := env().ExecuteActivity(activities.RefundCaptureName, activities.RefundCaptureInput{Key: capture.Key,
				AuthorizationKey: auth.Key, OrderID: auth.OrderID})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	l := s.ledger(t)
	require.EqualValues(t, orders*100, l.AuthorizedCents)
	require.Equal(t, l.CapturedCents, l.RefundedCents, "every capture that won was refunded: %+v", l)
	require.Equal(t, l.AuthorizedCents, l.CapturedCents+l.VoidedCents, "every hold was taken or released: %+v", l)
}
