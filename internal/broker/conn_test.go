package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
)

func TestBackoffDoublesUpToMaxAndResets(t *testing.T) {
	b := broker.Backoff{Min: 50 * time.Millisecond, Max: 300 * time.Millisecond}
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	require.Equal(t, []time.Duration{50e6, 100e6, 200e6, 300e6, 300e6}, got)
	b.Reset()
	require.Equal(t, 50*time.Millisecond, b.Next())

	small := broker.Backoff{Max: 20 * time.Millisecond}
	require.Equal(t, 20*time.Millisecond, small.Next(), "Max caps even the first wait")
	require.Equal(t, 100*time.Millisecond, (&broker.Backoff{}).Next(), "Min defaults to 100ms")
}

// TestReachable: the broker that runs answers; a port nothing listens on
// does not, and the error names it.
func TestReachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, broker.Reachable(ctx, amqptest.URL()))
	err := broker.Reachable(ctx, "amqp://guest:guest@127.0.0.1:1/")
	require.ErrorContains(t, err, "127.0.0.1:1")
	require.NotContains(t, err.Error(), "guest:guest", "no password in the error")
}
