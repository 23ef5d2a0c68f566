package deploytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// dummySecrets are well-formed values of the secret variables, written to
// the files the chart names.
var dummySecrets = map[string]string{
	"REDIS_URL": "redis://127.0.0.1:6379/0", "ORDER_REDIS_URL": "redis://127.0.0.1:6379/1",
	"INVENTORY_REDIS_URL": "redis://127.0.0.1:6379/2", "PAYMENT_REDIS_URL": "redis://127.0.0.1:6379/3",
	"TIMELINE_REDIS_URL": "redis://127.0.0.1:6379/4", "RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:5672/",
	"SERVICE_TOKEN": "service-token-0123456789", "PAYMENT_PROVIDER_SECRET_KEY": "provider-key-0123456789",
	"API_KEYS": "shop:shop-key-0123456789ab", "APPROVER_API_KEYS": "finance:finance-key-01234567",
	"ADMIN_API_KEYS": "ops:ops-key-0123456789abcd", "CODEC_AUTH_KEYS": "ui:ui-key-0123456789abcdef",
	"CODEC_ENCODE_KEYS": "starter:starter-key-01234567", "CODEC_KEYS": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	"TEMPORAL_API_KEY": "temporal-api-key",
}

// notKong are variables the chart sets that ordersaga's flags do not read:
// OpenTelemetry's, and Temporal's environment configuration (read by the
// SDK's loader).
func notKong(name string) bool {
	for _, p := range []string{"OTEL_", "TEMPORAL_TLS", "TEMPORAL_GRPC_META_", "TEMPORAL_API_KEY"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == "ORDERSAGA_CONFIG"
}

// TestChartEnvironmentIsOrdersagas runs the real binary (the slim build
// the image holds) with each rendered container's arguments and
// environment, its secret and settings files laid out as mounted, through
// `ordersaga config`: it refuses a setting the role does not read (a
// scoped one, a bad settings file, a secret both as value and file), and
// the test requires every variable the chart sets to be one the role
// reads, every secret from its file.
func TestChartEnvironmentIsOrdersagas(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ordersaga")
	build := exec.Command("go", "build", "-tags", "slim", "-o", bin, "./cmd/ordersaga")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build ordersaga: %s", out)

	for _, set := range []string{"defaults", "hpa", "apikey", "mtls"} {
		r := render(t, valueSets[set]...)
		settings := ""
		if len(r.configMaps) > 0 {
			settings = r.configMaps[0].Data["ordersaga.yaml"]
		}
		containers := map[string]corev1.Container{"setup": r.jobs[0].Spec.Template.Spec.Containers[0]}
		for role, d := range r.deployments {
			containers[role] = d.Spec.Template.Spec.Containers[0]
		}
		for role, c := range containers {
			t.Run(set+"/"+role, func(t *testing.T) {
				runConfig(t, bin, c, settings)
			})
		}
	}
}

// runConfig lays out c's files under a temporary root, runs `ordersaga
// config ARGS` with c's environment alone, and checks what it read.
func runConfig(t *testing.T, bin string, c corev1.Container, settings string) {
	dir := t.TempDir()
	write := func(path, content string) string {
		p := filepath.Join(dir, path)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(content+"\n"), 0o600))
		return p
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for _, e := range c.Env {
		v := e.Value
		switch name, isFile := strings.CutSuffix(e.Name, "_FILE"); {
		case e.Name == "ORDERSAGA_CONFIG":
			v = write(v, settings)
		case e.Name == "TEMPORAL_CONFIG_FILE":
			v = write(v, "[profile.worker]\naddress = \"t:7233\"\n[profile.operator]\naddress = \"t:7233\"\n")
		case isFile:
			secret, ok := dummySecrets[name]
			require.True(t, ok, "%s: a secret this test knows", e.Name)
			v = write(v, secret)
		}
		env = append(env, e.Name+"="+v)
	}
	cmd := exec.Command(bin, append([]string{"config"}, c.Args...)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "ordersaga config %v: %s", c.Args, stderr.String())
	got := stdout.String()
	for _, e := range c.Env {
		if notKong(e.Name) {
			continue
		}
		if name, ok := strings.CutSuffix(e.Name, "_FILE"); ok && name != "TEMPORAL_CONFIG" {
			require.Contains(t, got, "# file named by "+e.Name, "%s is read from its file", name)
			continue
		}
		require.Contains(t, got, "# environment "+e.Name, "%s is a setting of `ordersaga %v`", e.Name, c.Args)
	}
}
