//go:build !slim

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// slimBuild are the flags of the production build (`task build`), with
// the version stamped as it stamps it.
var slimBuild = []string{"-tags", "slim", "-ldflags", "-s -w -X main.version=v9.8.7 -X main.commit=abc1234"}

// forbiddenInSlim are the modules the production build must not link.
var forbiddenInSlim = []string{"go.temporal.io/server", "github.com/temporalio/ui-server", "gonum.org/"}

// TestSlimBuildLeavesOutTheServerUIAndBench: the slim build's dependency
// graph holds no Temporal server, Web UI or gonum; its binary is at most
// 60 MB, refuses dev, temporal-server and bench in one line naming the
// full build, and says what it is.
func TestSlimBuildLeavesOutTheServerUIAndBench(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "slim", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Greater(t, len(deps), 100, "the list is the real one")
	for _, d := range deps {
		for _, f := range forbiddenInSlim {
			require.False(t, strings.HasPrefix(d, f), "the slim build links %s", d)
		}
	}
	t.Logf("slim build: %d packages", len(deps))

	bin := filepath.Join(t.TempDir(), "ordersaga")
	build := exec.Command("go", append(append([]string{"build"}, slimBuild...), "-o", bin, ".")...)
	b, err := build.CombinedOutput()
	require.NoError(t, err, "%s", b)
	st, err := os.Stat(bin)
	require.NoError(t, err)
	require.LessOrEqual(t, st.Size(), int64(60<<20), "the slim binary is %d bytes", st.Size())
	t.Logf("slim binary: %.1f MB", float64(st.Size())/(1<<20))

	for _, cmd := range []string{"dev", "temporal-server", "bench"} {
		var stdout, stderr bytes.Buffer
		c := exec.Command(bin, cmd, "--data-dir", t.TempDir())
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		require.Error(t, err, cmd)
		require.Equal(t, 1, c.ProcessState.ExitCode(), cmd)
		line := stderr.String()
		require.Equal(t, 1, strings.Count(line, "\n"), "one line: %q", line)
		require.Contains(t, line, cmd+" is not in this slim production build: it is in the full build, `go run ./cmd/ordersaga "+cmd+"` or `task build-full`")
	}
	v, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	require.Regexp(t, `^ordersaga v9\.8\.7 \(commit abc1234, go1\.\S+, saga revision \d+, slim build\)\n$`, string(v))
	for _, role := range []string{"worker", "api", "projector", "payment-provider", "setup", "config", "codec-server", "tap", "history", "replay", "version"} {
		require.NoError(t, exec.Command(bin, role, "--help").Run(), role)
	}
}
