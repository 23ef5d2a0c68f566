//go:build !slim

package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAPIRefusesToListenOpenlyWithoutKeys(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		flags APIFlags
		err   string
	}{
		"loopback without keys":           {APIFlags{APIAddr: "127.0.0.1:8080"}, ""},
		"localhost without keys":          {APIFlags{APIAddr: "localhost:8080"}, ""},
		"ipv6 loopback without keys":      {APIFlags{APIAddr: "[::1]:8080"}, ""},
		"every interface without keys":    {APIFlags{APIAddr: ":8080"}, "refusing to listen on :8080 without API keys"},
		"a public address without keys":   {APIFlags{APIAddr: "10.0.0.5:8080"}, "refusing to listen"},
		"0.0.0.0 without keys":            {APIFlags{APIAddr: "0.0.0.0:8080"}, "refusing to listen"},
		"every interface, explicitly":     {APIFlags{APIAddr: ":8080", InsecureNoAuth: true}, ""},
		"every interface with a key":      {APIFlags{APIAddr: ":8080", APIKeys: "shop:0123456789abcdef"}, ""},
		"every interface, approver only":  {APIFlags{APIAddr: ":8080", ApproverAPIKeys: "fin:0123456789abcdef"}, ""},
		"a short key":                     {APIFlags{APIAddr: ":8080", APIKeys: "shop:short"}, "--api-keys: want client:key"},
		"one key, two roles":              {APIFlags{APIAddr: ":8080", APIKeys: "a:0123456789abcdef", AdminAPIKeys: "b:0123456789abcdef"}, "same key"},
		"one name, two roles":             {APIFlags{APIAddr: ":8080", APIKeys: "a:0123456789abcdef", AdminAPIKeys: "a:fedcba9876543210"}, `client name "a"`},
		"approver key without a name":     {APIFlags{APIAddr: ":8080", ApproverAPIKeys: ":0123456789abcdef"}, "--approver-api-keys"},
		"admin key, malformed (no colon)": {APIFlags{APIAddr: ":8080", AdminAPIKeys: "0123456789abcdef"}, "--admin-api-keys"},
		"a name with a quote":             {APIFlags{APIAddr: ":8080", APIKeys: `sh"op:0123456789abcdef`}, `--api-keys: client name "sh\"op"`},
		"a name with a backslash":         {APIFlags{APIAddr: ":8080", APIKeys: `sh\op:0123456789abcdef`}, "client name"},
		"a name with a space":             {APIFlags{APIAddr: ":8080", AdminAPIKeys: "my ops:0123456789abcdef"}, "--admin-api-keys: client name"},
		"a long name":                     {APIFlags{APIAddr: ":8080", APIKeys: strings.Repeat("a", 65) + ":0123456789abcdef"}, "client name"},
		"a dotted, dashed name":           {APIFlags{APIAddr: ":8080", APIKeys: "shop-1.eu_west:0123456789abcdef"}, ""},
		"the anonymous name":              {APIFlags{APIAddr: ":8080", APIKeys: "anonymous:0123456789abcdef"}, `client name "anonymous" is reserved`},
		"an apostrophe and an at":         {APIFlags{APIAddr: ":8080", APIKeys: "o'neil@eu:0123456789abcdef"}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.flags.auth()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestServicesRefuseToListenOpenlyWithoutToken(t *testing.T) {
	t.Parallel()
	const token = "service-token-0123456789"
	tests := map[string]struct {
		token          string
		addr           string
		serves, unsafe bool
		err            string
	}{
		"loopback without a token":           {"", "127.0.0.1:9101", true, false, ""},
		"every interface without a token":    {"", ":9101", true, false, "refusing to serve the service APIs on :9101 without a token"},
		"a public address without a token":   {"", "10.0.0.5:9101", true, false, "refusing to serve"},
		"every interface with a token":       {token, "0.0.0.0:9101", true, false, ""},
		"every interface, explicitly":        {"", ":9101", true, true, ""},
		"no service API: health and metrics": {"", ":9100", false, false, ""},
		"a short token":                      {"short", "127.0.0.1:9101", true, false, "--service-token: at least 16 characters"},
		"a short token, even for the caller": {"short", "127.0.0.1:8080", false, false, "--service-token: at least 16 characters"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ServiceTokenFlags{ServiceToken: tc.token}.serviceToken(tc.addr, tc.serves, tc.unsafe)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.token, got)
		})
	}
}

// A worker refuses an open service API before it connects to anything.
func TestWorkerRefusesOpenServiceAPIAtOnce(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"worker", "--services", "inventory", "--http-addr", ":0",
		"--temporal-address", "127.0.0.1:1", "--redis-url", "redis://127.0.0.1:1/0"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "refusing to serve the service APIs on :0 without a token")
}

// The api role refuses an open listener before it connects to anything.
func TestAPICommandRefusesOpenListenerAtOnce(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"api", "--api-addr", ":0", "--temporal-address", "127.0.0.1:1",
		"--redis-url", "redis://127.0.0.1:1/0"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "refusing to listen on :0 without API keys")
}

func TestDevListensOnLoopbackByDefault(t *testing.T) {
	t.Parallel()
	var cli CLI
	parser, _, err := newParser(&cli, io.Discard, io.Discard)
	require.NoError(t, err)
	_, err = parser.Parse([]string{"dev"})
	require.NoError(t, err)
	require.True(t, loopback(cli.Dev.APIAddr), "dev's API listens on %s", cli.Dev.APIAddr)
	require.True(t, loopback(cli.Dev.HTTPAddr), "dev's services listen on %s", cli.Dev.HTTPAddr)
	_, err = parser.Parse([]string{"api"})
	require.NoError(t, err)
	require.True(t, loopback(cli.API.APIAddr), "api's default is loopback too: %s", cli.API.APIAddr)
	for _, role := range [][]string{{"worker"}, {"projector"}} {
		_, err = parser.Parse(role)
		require.NoError(t, err)
	}
	require.True(t, loopback(cli.Worker.HTTPAddr), "a worker's default is loopback: %s", cli.Worker.HTTPAddr)
	require.True(t, loopback(cli.Projector.HTTPAddr), "the projector's default is loopback: %s", cli.Projector.HTTPAddr)
}

// TestNoUI: --no-ui, or --ui-port=-1, runs the embedded server without its
// Web UI (`--ui-port -1` is read as a short flag by the parser).
func TestNoUI(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"dev", "--no-ui"}, {"dev", "--ui-port=-1"}, {"temporal-server", "--no-ui"}} {
		var cli CLI
		parser, _, err := newParser(&cli, io.Discard, io.Discard)
		require.NoError(t, err)
		_, err = parser.Parse(args)
		require.NoError(t, err, args)
		if args[0] == "dev" {
			require.Negative(t, uiPort(cli.Dev.UIPort, cli.Dev.NoUI), args)
		} else {
			require.Negative(t, uiPort(cli.TemporalServer.UIPort, cli.TemporalServer.NoUI), args)
		}
	}
	var cli CLI
	parser, _, err := newParser(&cli, io.Discard, io.Discard)
	require.NoError(t, err)
	_, err = parser.Parse([]string{"dev"})
	require.NoError(t, err)
	require.Equal(t, 8233, uiPort(cli.Dev.UIPort, cli.Dev.NoUI), "the UI is on by default")
}
