package outbox

import (
	"context"
	"log/slog"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestFencedDeleteNeedsTheCurrentLease: once the lease has passed to another
// relay, with a greater fencing token, the first relay's delete deletes
// nothing and reports the lease lost, and its renewal and release change
// nothing; the new holder's delete works until its lease is gone too.
func TestFencedDeleteNeedsTheCurrentLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	cfg := Config{URL: "amqp://unused", Stream: prefix + "{order}:outbox"}
	relay := func() *Relay {
		r, err := New(rdb, cfg, slog.New(slog.DiscardHandler), nil)
		require.NoError(t, err)
		return r
	}
	a, b := relay(), relay()
	for i := range 3 {
		require.NoError(t, rdb.XAdd(ctx, &redis.XAddArgs{Stream: cfg.Stream, Values: []any{"i", i}}).Err())
	}
	entries, err := rdb.XRange(ctx, cfg.Stream, "-", "+").Result()
	require.NoError(t, err)
	outboxLen := func() int64 { return rdb.XLen(ctx, cfg.Stream).Val() }

	la, err := a.acquire(ctx)
	require.NoError(t, err)
	require.NotNil(t, la)
	lb, err := b.acquire(ctx)
	require.NoError(t, err)
	require.Nil(t, lb, "the lease is held")

	require.NoError(t, rdb.Del(ctx, a.leaseKey()).Err(), "a's lease expires")
	lb, err = b.acquire(ctx)
	require.NoError(t, err)
	require.NotNil(t, lb)
	require.Greater(t, lb.fence, la.fence, "each acquisition has a greater fencing token")

	require.ErrorIs(t, a.deleteFenced(ctx, la, entries), errLeaseLost)
	require.EqualValues(t, 3, outboxLen(), "a stale holder deletes nothing")
	ok, err := a.renew(ctx, la)
	require.NoError(t, err)
	require.False(t, ok, "nor renews the lease")
	a.release(ctx, la)
	require.Equal(t, lb.token, rdb.Get(ctx, a.leaseKey()).Val(), "nor releases it")

	require.NoError(t, b.deleteFenced(ctx, lb, entries[:2]))
	require.EqualValues(t, 1, outboxLen(), "the holder deletes")
	b.release(ctx, lb)
	require.ErrorIs(t, b.deleteFenced(ctx, lb, entries[2:]), errLeaseLost, "no lease, no delete")
	require.EqualValues(t, 1, outboxLen())
}

// TestFenceOnCluster runs the fence's test on a 3-master Redis Cluster.
func TestFenceOnCluster(t *testing.T) {
	redistest.OnCluster(t, TestFencedDeleteNeedsTheCurrentLease)
}
