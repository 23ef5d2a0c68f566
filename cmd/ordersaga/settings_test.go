//go:build !slim

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"
)

// configOf runs `ordersaga config args...` and returns its output.
func configOf(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"config"}, args...), &out, io.Discard)
	return out.String(), err
}

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestExampleConfigLoadsForEveryRole: deploy/ordersaga.example.yaml is
// accepted by each role, and its sections reach only their role.
func TestExampleConfigLoadsForEveryRole(t *testing.T) {
	example := filepath.Join("..", "..", "deploy", "ordersaga.example.yaml")
	for _, role := range []string{"worker", "api", "projector", "payment-provider", "codec-server"} {
		out, err := configOf(t, role, "--config", example)
		require.NoError(t, err, role)
		require.Contains(t, out, `log-format: "json"  # config file`, role)
	}
	out, err := configOf(t, "api", "--config", example)
	require.NoError(t, err)
	require.Contains(t, out, `api-addr: "0.0.0.0:8080"  # config file`)
	require.NotContains(t, out, "approval-threshold-cents", "the saga options are the orchestrator's")
	out, err = configOf(t, "worker", "--config", example)
	require.NoError(t, err)
	require.Contains(t, out, `http-addr: "0.0.0.0:9100"  # config file`)
	require.Contains(t, out, `approval-threshold-cents: 100000  # config file`)
	require.Contains(t, out, "# temporal connection (profile and TEMPORAL_* variables, flags applied): address=temporal.internal:7233")
}

// TestSettingsPrecedence: a flag beats the environment, which beats the
// file's section, which beats its top level.
func TestSettingsPrecedence(t *testing.T) {
	file := writeFile(t, "c.yaml", "api-request-timeout: 6s\napi:\n  api-request-timeout: 7s\n")
	out, err := configOf(t, "api", "--config", file)
	require.NoError(t, err)
	require.Contains(t, out, `api-request-timeout: "7s"  # config file`)
	t.Setenv("ORDERSAGA_CONFIG", file)
	out, err = configOf(t, "api")
	require.NoError(t, err)
	require.Contains(t, out, `api-request-timeout: "7s"  # config file`, "ORDERSAGA_CONFIG names the file too")
	t.Setenv("API_REQUEST_TIMEOUT", "8s")
	out, err = configOf(t, "api", "--config", file)
	require.NoError(t, err)
	require.Contains(t, out, `api-request-timeout: "8s"  # environment API_REQUEST_TIMEOUT`)
	out, err = configOf(t, "api", "--config", file, "--api-request-timeout", "9s")
	require.NoError(t, err)
	require.Contains(t, out, `api-request-timeout: "9s"  # flag`)
}

// TestSettingsARoleIgnoresAreRefused: a saga option (scoped) set for a
// role that does not read it (the API: the options are the orchestrator
// worker's) is refused in one line, whatever the source;
// so is a config key no command has or one under the wrong section.
func TestSettingsARoleIgnoresAreRefused(t *testing.T) {
	top := writeFile(t, "top.yaml", "approval-threshold-cents: 5\n")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flag", nil, []string{"api", "--approval-timeout", "1h"}, "unknown flag --approval-timeout"},
		{"environment", map[string]string{"APPROVAL_TIMEOUT": "1h"}, []string{"api"},
			"APPROVAL_TIMEOUT is set, but `ordersaga api` does not read it (dev, worker do): unset it for this role"},
		{"file, top level", nil, []string{"api", "--config", top},
			"config file: approval-threshold-cents is set, but `ordersaga api` does not read it (dev, worker do)"},
		{"file, the role's section", nil, []string{"projector", "--config", writeFile(t, "s.yaml", "projector:\n  payment-retry-budget: 1m\n")},
			"config file: projector.payment-retry-budget is not a setting of `ordersaga projector`"},
		{"file, no such setting", nil, []string{"api", "--config", writeFile(t, "u.yaml", "redis-ulr: redis://x\n")},
			"config file: redis-ulr is no setting of ordersaga"},
		{"file, a role's section that is no section", nil, []string{"api", "--config", writeFile(t, "n.yaml", "worker: 3\n")},
			"config file: worker: want a section of settings"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			err := run(context.Background(), c.args, io.Discard, io.Discard)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			require.NotContains(t, err.Error(), "\n")
		})
	}
	// The role that reads it takes it from the same file.
	out, err := configOf(t, "worker", "--config", top)
	require.NoError(t, err)
	require.Contains(t, out, "approval-threshold-cents: 5  # config file")
}

// secretVariables are the variables that carry secrets: each may be given
// as a file through <VAR>_FILE.
var secretVariables = []string{"API_KEYS", "APPROVER_API_KEYS", "ADMIN_API_KEYS", "SERVICE_TOKEN", "CODEC_KEYS", "CODEC_AUTH_KEYS",
	"REDIS_URL", "TIMELINE_REDIS_URL", "ORDER_REDIS_URL", "INVENTORY_REDIS_URL", "PAYMENT_REDIS_URL", "RABBITMQ_URL",
	"CODEC_ENCODE_KEYS", "PAYMENT_PROVIDER_SECRET_KEY"}

// TestEverySecretVariableIsASecretFlag: each secret variable belongs to
// flags tagged secret (read from <VAR>_FILE, redacted by `config`), and no
// other flag's variable looks like one.
func TestEverySecretVariableIsASecretFlag(t *testing.T) {
	var cli CLI
	parser, _, err := newParser(&cli, io.Discard, io.Discard)
	require.NoError(t, err)
	secret := map[string]bool{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			for _, e := range f.Tag.Envs {
				if f.Tag.Has("secret") {
					secret[e] = true
				} else {
					require.False(t, looksSecret(e), "%s of --%s looks secret but is not tagged so (secret:\"\")", e, f.Name)
				}
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(parser.Model.Node)
	for _, v := range secretVariables {
		require.True(t, secret[v], v)
	}
}

// looksSecret says whether a variable's name suggests a secret.
func looksSecret(env string) bool {
	for _, w := range []string{"KEYS", "TOKEN", "SECRET", "PASSWORD"} {
		if strings.Contains(env, w) {
			return true
		}
	}
	return strings.HasSuffix(env, "REDIS_URL") || env == "RABBITMQ_URL"
}

// TestSecretsFromFiles: <VAR>_FILE gives a secret's value with one
// trailing newline trimmed; giving both is an error that names them and
// not the value.
func TestSecretsFromFiles(t *testing.T) {
	const key = "shop:file-key-0123456789"
	t.Setenv("API_KEYS_FILE", writeFile(t, "keys", key+"\n"))
	t.Setenv("SERVICE_TOKEN_FILE", writeFile(t, "token", "token-0123456789abcdef\n\n"))
	t.Setenv("REDIS_URL_FILE", writeFile(t, "redis", "redis://default:redis-secret-pw@127.0.0.1:6379/0\n"))
	var cli CLI
	parser, _, err := newParser(&cli, io.Discard, io.Discard)
	require.NoError(t, err)
	_, err = parser.Parse([]string{"api"})
	require.NoError(t, err)
	require.Equal(t, key, cli.API.APIKeys)
	require.Equal(t, "token-0123456789abcdef\n", cli.API.ServiceToken, "one trailing newline is trimmed, no more")
	require.Equal(t, "redis://default:redis-secret-pw@127.0.0.1:6379/0", cli.API.RedisURL)

	out, err := configOf(t, "api")
	require.NoError(t, err)
	require.Contains(t, out, `api-keys: "\u003credacted\u003e"  # file named by API_KEYS_FILE`)
	require.Contains(t, out, `redis-url: "redis://default:xxxxx@127.0.0.1:6379/0"  # file named by REDIS_URL_FILE`)
	require.NotContains(t, out, "file-key-0123456789")
	require.NotContains(t, out, "redis-secret-pw")

	t.Setenv("API_KEYS", key)
	err = run(context.Background(), []string{"api"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "both API_KEYS and API_KEYS_FILE are set: give one")
	require.NotContains(t, err.Error(), "file-key")

	os.Unsetenv("API_KEYS")
	t.Setenv("API_KEYS_FILE", filepath.Join(t.TempDir(), "missing"))
	err = run(context.Background(), []string{"api"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "API_KEYS_FILE: open ")
}
