//go:build !slim

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchCompareSmoke runs a tiny bench --compare on an embedded stack:
// exactly the four runs, by name, each completing every saga with its CPU
// and transitions measured, and the median ratios of ours over each peer
// in the JSON, the text and the HTML report (a smoke test, not a timing
// test: no ratio's value is asserted).
func TestBenchCompareSmoke(t *testing.T) {
	for _, topology := range []string{"split", "single"} {
		t.Run(topology, func(t *testing.T) { benchCompareSmoke(t, topology) })
	}
}

func benchCompareSmoke(t *testing.T, topology string) {
	page := filepath.Join(t.TempDir(), "report.html")
	rep, stdout := runBench(t, "--compare", "--topology", topology, "--orders", "6", "--concurrency", "3", "--report", page)
	var names []string
	for _, r := range rep.Runs {
		names = append(names, r.Name)
		require.Equal(t, 6, r.Completed, r.Name)
		require.Zero(t, r.Failed, "%s: %v", r.Name, r.ErrorSamples)
		require.Positive(t, r.TransitionsPerSaga, r.Name)
		require.Positive(t, r.CPUSecondsPerSaga, r.Name)
	}
	require.ElementsMatch(t, []string{"ordersaga", "baseline", "baseline-split", "floor"}, names)
	for _, peer := range []string{"baseline", "baseline-split", "floor"} {
		for _, k := range []string{"completed_per_second", "cpu_seconds_per_saga", "transitions_per_saga", "end_to_end_p50", "end_to_end_p99"} {
			require.Positive(t, rep.Compare[peer][k], "%s %s", peer, k)
		}
		require.Contains(t, stdout, "ordersaga/"+peer)
	}
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(html), "ours/peer ("))
	require.Contains(t, string(html), "baseline-split")
}
