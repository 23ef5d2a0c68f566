package ratelimit_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api/ratelimit"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestBurstThenRate ensures a client gets its burst at once, is then
// refused with the time until one unit refills, and gets units back at the
// rate; another client's quota is its own.
func TestBurstThenRate(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	l := ratelimit.New(rdb, prefix)
	p := ratelimit.Policy{Name: "writes", Rate: 2, Burst: 5}
	ctx := context.Background()
	for i := range 5 {
		r, err := l.Allow(ctx, p, "a", 1)
		require.NoError(t, err)
		require.True(t, r.Allowed, "request %d of the burst", i)
		require.Equal(t, 4-i, r.Remaining)
	}
	r, err := l.Allow(ctx, p, "a", 1)
	require.NoError(t, err)
	require.False(t, r.Allowed)
	require.Zero(t, r.Remaining)
	// However long the burst took (the race detector slows it), within it.
	require.InDelta(t, 500*time.Millisecond, r.RetryAfter, float64(200*time.Millisecond), "one unit refills in 1/rate")
	require.InDelta(t, 2500*time.Millisecond, r.Reset, float64(200*time.Millisecond))

	other, err := l.Allow(ctx, p, "b", 1)
	require.NoError(t, err)
	require.True(t, other.Allowed, "b has its own quota")

	time.Sleep(r.RetryAfter + 10*time.Millisecond)
	r, err = l.Allow(ctx, p, "a", 1)
	require.NoError(t, err)
	require.True(t, r.Allowed, "a unit refilled")

	big, err := l.Allow(ctx, p, "c", 6)
	require.NoError(t, err)
	require.False(t, big.Allowed, "a cost above the burst is never allowed")
}

// TestReplicasShareTheQuota ensures limiters on the same Redis (two API
// replicas) share one quota per client, exactly, under concurrency.
func TestReplicasShareTheQuota(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	replicas := []*ratelimit.Limiter{ratelimit.New(rdb, prefix), ratelimit.New(rdb, prefix)}
	p := ratelimit.Policy{Name: "reads", Rate: 0.001, Burst: 20} // no refill during the test
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			r, err := replicas[i%2].Allow(context.Background(), p, "flood", 1)
			if err == nil && r.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 20, allowed.Load())
}

func TestNoRateNoLimit(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(nil, "") // never reaches Redis
	r, err := l.Allow(context.Background(), ratelimit.Policy{Name: "reads"}, "a", 1)
	require.NoError(t, err)
	require.True(t, r.Allowed)
	require.Error(t, ratelimit.Policy{Name: "w", Rate: 1}.Validate())
	require.Equal(t, 2, ratelimit.Policy{Rate: 50, Burst: 100}.Window())
}
