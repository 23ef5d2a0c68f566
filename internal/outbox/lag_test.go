package outbox_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestLagGrowsWhileTheBrokerIsUnreachable: with the broker cut off, the lag
// metric keeps growing with the age of the oldest unpublished entry, and it
// is back to zero once the outbox has drained.
func TestLagGrowsWhileTheBrokerIsUnreachable(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t)
	proxy := brokerProxy(t)
	stream := prefix + "{order}:outbox"
	reg := prometheus.NewRegistry()
	r, err := outbox.New(rdb, outbox.Config{URL: proxy.URL(amqptest.URL()), Stream: stream, Topology: topo, Name: "order",
		LagInterval: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, quiet, outbox.NewMetrics(reg))
	require.NoError(t, err)
	runRelay(t, r)
	lag := func() time.Duration {
		t.Helper()
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == "ordersaga_outbox_lag_seconds" {
				return time.Duration(mf.GetMetric()[0].GetGauge().GetValue() * float64(time.Second))
			}
		}
		t.Fatal("no ordersaga_outbox_lag_seconds")
		return 0
	}

	fill(t, rdb, stream, "o1", 0, 10)
	requireDrained(t, rdb, stream)
	require.Eventually(t, func() bool { return lag() == 0 }, 5*time.Second, 10*time.Millisecond)

	proxy.Cut()
	fill(t, rdb, stream, "o1", 10, 1)
	require.Eventually(t, func() bool { return lag() > time.Second }, 5*time.Second, 10*time.Millisecond,
		"the lag grows while the broker is unreachable")
	before := lag()
	time.Sleep(500 * time.Millisecond)
	require.Greater(t, lag(), before+300*time.Millisecond, "and keeps growing")
	require.GreaterOrEqual(t, r.Stats().Lag, before, "Stats report the same lag")

	proxy.Restore()
	requireDrained(t, rdb, stream)
	require.Eventually(t, func() bool { return lag() == 0 && r.Stats().Lag == 0 }, 5*time.Second, 10*time.Millisecond)
}
