package payment_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/redistest"
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
