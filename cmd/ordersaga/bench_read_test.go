//go:build !slim

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestBenchReadSmoke runs a short bench --read on an embedded stack: every
// saga completes, every read answers 200, and the report holds each run and
// both ratios (a smoke test, not a timing test).
func TestBenchReadSmoke(t *testing.T) {
	rep, stdout := runBench(t, "--read", "--orders", "10", "--duration", "1s", "--concurrency", "5", "--readers", "2", "--read-rate", "20")
	var names []string
	for _, r := range rep.Runs {
		names = append(names, r.Name)
		require.Zero(t, r.Failed, "%s: %v", r.Name, r.ErrorSamples)
		require.Positive(t, r.Completed, r.Name)
	}
	require.Equal(t, []string{runSeed, runFirstReads, runOrderReads, runEventReads, runAlone, runWithReads, runBeside,
		runWithReads, runBeside, runAlone}, names)
	// Each finished order is read once. The seed may have had an order shed
	// at start-up (a 429 is Rejected, not Failed), so count what it finished.
	require.Equal(t, rep.Runs[0].Completed, rep.Runs[1].Completed, "each finished order read once")
	require.Equal(t, 10, rep.Runs[0].Completed+rep.Runs[0].Rejected, "every seed order started")
	require.Positive(t, rep.Ratios["order_reads_over_event_reads"])
	require.Positive(t, rep.Ratios["sagas_with_reads_over_alone"])
	require.Contains(t, stdout, "orders/events reads/s")
}

// runBench runs `ordersaga bench args...` on an embedded stack (SQLite in
// memory, quiet) and returns its JSON report and what it printed.
func runBench(t *testing.T, args ...string) (BenchReport, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout bytes.Buffer
	err := run(context.Background(), append(append([]string{"bench"}, args...), "--temporal-db", "sqlite-memory", "--quiet",
		"--json", out, "--log-level", "error", "--redis-url", redistest.URL(), "--rabbitmq-url", amqptest.URL()), &stdout, io.Discard)
	require.NoError(t, err, stdout.String())
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var rep BenchReport
	require.NoError(t, json.Unmarshal(raw, &rep))
	return rep, stdout.String()
}
