//go:build !slim

package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchPreferWaitSmoke runs a short bench --prefer-wait on an embedded
// stack: every order is answered (201, at its reservation) and completes,
// and the report names the wait, with the answer's latency no later than
// the saga's end (a smoke test, not a timing test).
func TestBenchPreferWaitSmoke(t *testing.T) {
	rep, stdout := runBench(t, "--via", "api", "--prefer-wait", "--orders", "6", "--concurrency", "2")
	require.Len(t, rep.Runs, 1)
	r := rep.Runs[0]
	require.Zero(t, r.Failed, "%v", r.ErrorSamples)
	require.Equal(t, 6, r.Completed)
	require.Equal(t, "ordersaga (HTTP API, wait=10)", r.Name)
	require.Positive(t, r.Start.P50)
	require.LessOrEqual(t, r.Start.P50, r.EndToEnd.P50, "the answer comes before the saga ends")
	require.Contains(t, stdout, "wait=10")
}
