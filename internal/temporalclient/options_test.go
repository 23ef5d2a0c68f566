package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/contrib/envconfig"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// env is an environment for a test, without the process's.
type env map[string]string

func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}

func (e env) LookupEnv(k string) (string, bool) { v, ok := e[k]; return v, ok }

var _ envconfig.EnvLookup = env{}

const profiles = `
[profile.default]
address = "default.example:7233"
namespace = "from-default"

[profile.cloud]
address = "cloud.example:7233"
namespace = "from-cloud"
api_key = "profile-api-key"
[profile.cloud.grpc_meta]
x-team = "orders"
`

// TestOptionsFromProfileEnvAndFlags: the profile, then the TEMPORAL_*
// variables, then the flags; the defaults when nothing names them.
func TestOptionsFromProfileEnvAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(profiles), 0o600))
	missing := filepath.Join(t.TempDir(), "none.toml")
	for _, c := range []struct {
		name          string
		conn          Connection
		addr, ns      string
		apiKey, tlsOn bool
	}{
		{"no file, no variables: the defaults", Connection{ConfigFile: missing, Env: env{}}, DefaultAddress, DefaultNamespace, false, false},
		{"the default profile", Connection{ConfigFile: file, Env: env{}}, "default.example:7233", "from-default", false, false},
		{"a named profile: its API key turns TLS on", Connection{ConfigFile: file, Profile: "cloud", Env: env{}}, "cloud.example:7233", "from-cloud", true, true},
		{"TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE", Connection{Env: env{"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "cloud"}}, "cloud.example:7233", "from-cloud", true, true},
		{"the variables beat the profile", Connection{ConfigFile: file, Env: env{"TEMPORAL_ADDRESS": "env.example:7233", "TEMPORAL_API_KEY": "k"}}, "env.example:7233", "from-default", true, true},
		{"the flags beat both", Connection{ConfigFile: file, Address: "flag.example:7233", Namespace: "from-flag", Env: env{"TEMPORAL_ADDRESS": "env.example:7233"}}, "flag.example:7233", "from-flag", false, false},
		{"TEMPORAL_TLS=true without a key", Connection{ConfigFile: missing, Env: env{"TEMPORAL_TLS": "true"}}, DefaultAddress, DefaultNamespace, false, true},
		{"plain ignores profile and variables", Connection{ConfigFile: file, Plain: true, Address: "own:1", Env: env{"TEMPORAL_API_KEY": "k"}}, "own:1", DefaultNamespace, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts, err := c.conn.Options()
			require.NoError(t, err)
			require.Equal(t, c.addr, opts.HostPort)
			require.Equal(t, c.ns, opts.Namespace)
			require.Equal(t, c.apiKey, opts.Credentials != nil, "API key")
			require.Equal(t, c.tlsOn, opts.ConnectionOptions.TLS != nil, "TLS")
		})
	}
	_, err := Connection{ConfigFile: file, Profile: "nope", Env: env{}}.Options()
	require.ErrorContains(t, err, "unable to find profile nope")
}

// TestAPIKeyFromFile: TEMPORAL_API_KEY_FILE gives the key (one trailing
// newline trimmed); with TEMPORAL_API_KEY too it is an error that names
// both and not the key.
func TestAPIKeyFromFile(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("secret-from-file\n"), 0o600))
	missing := filepath.Join(t.TempDir(), "none.toml")
	d, err := Connection{ConfigFile: missing, Env: env{"TEMPORAL_API_KEY_FILE": keyFile}}.Describe()
	require.NoError(t, err)
	require.Equal(t, "set (redacted)", d["api_key"])
	require.Equal(t, "on", d["tls"])
	_, err = Connection{ConfigFile: missing, Env: env{"TEMPORAL_API_KEY_FILE": keyFile, "TEMPORAL_API_KEY": "secret-from-env"}}.Options()
	require.ErrorContains(t, err, "both TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are set")
	require.NotContains(t, err.Error(), "secret")
}

// TestClassify: each failure of the first calls maps to one kind.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err     error
		withTLS bool
		want    string
	}{
		{status.Error(codes.Unauthenticated, "bad key"), true, Unauthenticated},
		{serviceerror.NewPermissionDenied("no", ""), false, Unauthenticated},
		{fmt.Errorf("failed reaching server: %w", serviceerror.NewUnavailable(`connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`)), true, TLSHandshake},
		{serviceerror.NewUnavailable("error reading server preface: remote error: tls: certificate required"), true, TLSHandshake},
		{serviceerror.NewUnavailable("write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe"), true, TLSHandshake},
		{serviceerror.NewUnavailable("write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe"), false, Unreachable},
		{errors.New("rpc error: code = Internal desc = unexpected HTTP status code received from server: 400 (Bad Request); transport: received unexpected content-type \"text/html\" data: \"<html>\r\n<head><title>400 No required SSL certificate was sent</title>\""), true, TLSHandshake},
		{errors.New("rpc error: code = Unknown desc = unexpected HTTP status code received from server: 401 (Unauthorized)"), true, Unauthenticated},
		{serviceerror.NewUnavailable("dial tcp 127.0.0.1:1: connect: connection refused"), false, Unreachable},
		{context.DeadlineExceeded, false, Unreachable},
		{serviceerror.NewNamespaceNotFound("orders"), false, NamespaceAbsent},
		{errors.New("something else"), false, OtherFailure},
	} {
		e := classify("h:1", "orders", c.withTLS, c.err)
		require.Equal(t, c.want, e.Kind, "%v", c.err)
		require.Contains(t, e.Error(), "temporal at h:1: "+c.want)
		require.ErrorIs(t, e, c.err)
		require.NotContains(t, e.Error(), "<html>", "a proxy's page is cut off")
	}
}
