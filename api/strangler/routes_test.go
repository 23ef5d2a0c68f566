package strangler_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api/strangler"
)

// TestBadRoutesFilesAreRefusedWithLineAndReason ensures each kind of
// mistake is refused, naming its line and what is wrong.
func TestBadRoutesFilesAreRefusedWithLineAndReason(t *testing.T) {
	t.Parallel()
	const ok = "legacy_url: http://monolith:8080\nroutes:\n"
	for name, tc := range map[string]struct{ file, want string }{
		"empty":              {"", "1: the file is empty"},
		"unknown field":      {ok + "  - prefix: /a/\n    to: legacy\n    percnt: 5\n", "5: field percnt not found"},
		"not yaml":           {ok + "  - prefix: [\n", "3: did not find expected node content"},
		"unknown mode":       {ok + "  - prefix: /a/\n    to: legacy\n  - prefix: /b/\n    to: legasy\n", `6: route 2 (prefix "/b/"): to "legasy": want legacy, ordersaga, shadow or canary`},
		"no mode":            {ok + "  - prefix: /a/\n", `3: route 1 (prefix "/a/"): to is required`},
		"relative prefix":    {ok + "  - prefix: a/\n    to: legacy\n", `3: route 1 (prefix "a/"): prefix: want a path starting with "/"`},
		"dot segment":        {ok + "  - prefix: /a/../b/\n    to: legacy\n", "want a clean path"},
		"duplicate":          {ok + "  - prefix: /a/\n    to: legacy\n  - prefix: /a/\n    to: shadow\n", `5: route 2: prefix "/a/" is already routed on line 3`},
		"percent off canary": {ok + "  - prefix: /a/\n    to: legacy\n    percent: 5\n", "5: route 1 (prefix \"/a/\"): percent is for canary routes only"},
		"percent too big":    {ok + "  - prefix: /a/\n    to: canary\n    percent: 101\n", "percent 101: want 0 to 100"},
		"ignore off shadow":  {ok + "  - prefix: /a/\n    to: legacy\n    ignore: [x]\n", "ignore is for shadow routes only"},
		"bad ignore":         {ok + "  - prefix: /a/\n    to: shadow\n    ignore: [a..b]\n", `ignore "a..b"`},
		"bad auth":           {ok + "  - prefix: /a/\n    to: legacy\n    auth: none\n", `auth "none": want gateway or passthrough`},
		"no legacy url":      {"routes:\n  - prefix: /a/\n    to: legacy\n", "1: legacy_url: required"},
		"legacy url creds":   {"legacy_url: http://u:pw@monolith\nroutes: []\n", "credentials in the URL"},
		"legacy url scheme":  {"legacy_url: ftp://monolith\nroutes: []\n", `scheme "ftp"`},
		"hop-by-hop header":  {"principal_header: Connection\n" + ok, `principal_header "Connection"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := strangler.Parse([]byte(tc.file))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestLongestPrefixWins ensures the longest matching prefix routes a path,
// whatever the order of the file, and a path no prefix matches is not
// matched.
func TestLongestPrefixWins(t *testing.T) {
	t.Parallel()
	table, err := strangler.Parse([]byte(`legacy_url: https://monolith.internal
routes:
  - prefix: /
    to: legacy
  - prefix: /v1/orders
    to: canary
    percent: 10
  - prefix: /v1/
    to: ordersaga
`))
	require.NoError(t, err)
	for path, want := range map[string]strangler.Mode{"/v1/orders/1": strangler.Canary, "/v1/inventory/x": strangler.Ordersaga, "/old": strangler.Legacy} {
		r, ok := table.Match(path)
		require.True(t, ok, path)
		require.Equal(t, want, r.To, path)
	}
	table, err = strangler.Parse([]byte("routes:\n  - prefix: /v1/\n    to: ordersaga\n"))
	require.NoError(t, err, "a table reaching no monolith needs no legacy_url")
	_, ok := table.Match("/legacy")
	require.False(t, ok)
}

// TestLoadFileNamesTheFile ensures a refused file's error starts with its
// path and line, as an editor jumps to.
func TestLoadFileNamesTheFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "routes.yaml")
	require.NoError(t, os.WriteFile(file, []byte("legacy_url: http://m\nroutes:\n  - prefix: x\n    to: legacy\n"), 0o600))
	_, err := strangler.LoadFile(file)
	require.ErrorContains(t, err, file+":3: route 1")
	_, err = strangler.LoadFile(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "routes file:")
}
