package payment_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/payment"
)

func TestPaymentRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := payment.NewStore(rdb, redislua.Keyspace(prefix+"payment:"))

	id, err := s.Charged(ctx, "k")
	require.NoError(t, err)
	require.Empty(t, id)
	require.NoError(t, s.RecordCharge(ctx, "k", "o1", "ch_1", 500))
	require.NoError(t, s.RecordCharge(ctx, "k", "o1", "ch_1", 500))
	id, err = s.Charged(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "ch_1", id)

	require.NoError(t, s.BeginRefund(ctx, "k", "o1"))
	_, err = s.Charged(ctx, "k")
	require.ErrorIs(t, err, ordersaga.ErrCompensated)
	require.NoError(t, s.RecordRefund(ctx, "k", "o1"))
	require.NoError(t, s.BeginRefund(ctx, "k", "o1"), "a repeated refund stays refunded")
	_, err = s.Charged(ctx, "k")
	require.ErrorIs(t, err, ordersaga.ErrCompensated)
}

func TestPaymentRefundBeforeChargeRefusesCharge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := payment.NewStore(rdb, redislua.Keyspace(prefix+"payment:"))
	require.NoError(t, s.BeginRefund(ctx, "k", "o1"))
	require.ErrorIs(t, s.RecordCharge(ctx, "k", "o1", "ch_1", 500), ordersaga.ErrCompensated)
}

// TestAuthorizationRecord: authorized, captured once, then released; a
// release recorded first refuses a late authorization or capture.
func TestAuthorizationRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	s := payment.NewStore(rdb, redislua.Keyspace(prefix+"payment:"))

	rec, err := s.Authorization(ctx, "A")
	require.NoError(t, err)
	require.Zero(t, rec)
	for range 2 {
		require.NoError(t, s.RecordAuthorization(ctx, "A", "o1", "au_1", 99_999_999_999_999))
	}
	rec, err = s.Authorization(ctx, "A")
	require.NoError(t, err)
	require.Equal(t, payment.AuthorizationRecord{State: "authorized", AuthorizationID: "au_1", AmountCents: 99_999_999_999_999}, rec)
	capture := payment.ProviderCapture{CaptureID: "cp_1", AuthorizationID: "au_1", AmountCents: 99_999_999_999_999}
	for range 2 {
		require.NoError(t, s.RecordCapture(ctx, "A", "wf/capture_payment", "o1", capture))
	}
	rec, err = s.Authorization(ctx, "A")
	require.NoError(t, err)
	require.Equal(t, "captured", rec.State)
	require.Equal(t, "cp_1", rec.CaptureID)
	got, err := s.Payment(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, ordersaga.Payment{OrderID: "o1", State: "captured", AuthorizationID: "au_1", ChargeID: "cp_1", AmountCents: 99_999_999_999_999}, got)

	require.NoError(t, s.BeginRelease(ctx, "A", "o1"))
	_, err = s.Authorization(ctx, "A")
	require.ErrorIs(t, err, ordersaga.ErrCompensated)
	got, err = s.Payment(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, "refunding", got.State)
	rel := payment.Release{Status: "refunded", AuthorizationID: "au_1", CaptureID: "cp_1", AmountCents: 99_999_999_999_999}
	require.NoError(t, s.RecordRelease(ctx, "A", "wf/capture_payment", "o1", rel))
	require.NoError(t, s.BeginRelease(ctx, "A", "o1"), "a repeated release stays refunded")
	got, err = s.Payment(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, "refunded", got.State)

	// A release before the authorization: the late one is refused.
	require.NoError(t, s.BeginRelease(ctx, "B", "o2"))
	require.ErrorIs(t, s.RecordAuthorization(ctx, "B", "o2", "au_2", 5), ordersaga.ErrCompensated)
	require.ErrorIs(t, s.RecordCapture(ctx, "B", "wf2/capture_payment", "o2", payment.ProviderCapture{CaptureID: "cp_2"}), ordersaga.ErrCompensated)
	require.NoError(t, s.RecordRelease(ctx, "B", "B", "o2", payment.Release{Status: "voided"}))
	got, err = s.Payment(ctx, "o2")
	require.NoError(t, err)
	require.Equal(t, ordersaga.Payment{OrderID: "o2", State: "voided"}, got, "a voided key: nothing held")
}
