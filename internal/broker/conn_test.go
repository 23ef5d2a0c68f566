package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/broker"
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
