//go:build !slim

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/devserver"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/workflows"
)

// get returns the status and body of GET u with an optional bearer key.
func get(t *testing.T, u, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSecretsStayOutOfOutput runs a worker and the API with every secret
// given as a file (API keys, service token, codec keys, passwords in the
// Redis and RabbitMQ URLs) and debug logging, checks the secrets are in
// force, and greps for them in the logs, --help, `config`, /metrics and
// /readyz.
func TestSecretsStayOutOfOutput(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devserver.Start(devserver.Config{UIPort: -1, Persistence: "sqlite-memory", Logger: log,
		SearchAttributes: workflows.SearchAttributes()})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	_, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t, prefix+"timeline")

	codecKey := make([]byte, 32)
	_, _ = rand.Read(codecKey)
	secrets := map[string]string{
		"API_KEYS":          "shop-secret-key-0123456789",
		"APPROVER_API_KEYS": "approver-secret-key-0123456789",
		"ADMIN_API_KEYS":    "admin-secret-key-0123456789",
		"SERVICE_TOKEN":     "service-secret-token-0123456789",
		"CODEC_KEYS":        base64.StdEncoding.EncodeToString(codecKey),
		"REDIS_URL":         "redis-secret-password-0123",
	}
	redisURL, err := url.Parse(redistest.URL())
	require.NoError(t, err)
	redisURL.User = url.UserPassword("default", secrets["REDIS_URL"])
	amqpURL, err := url.Parse(amqptest.URL())
	require.NoError(t, err)
	rabbitPassword, _ := amqpURL.User.Password()
	values := map[string]string{
		"API_KEYS": "shop:" + secrets["API_KEYS"], "APPROVER_API_KEYS": "finance:" + secrets["APPROVER_API_KEYS"],
		"ADMIN_API_KEYS": "ops:" + secrets["ADMIN_API_KEYS"], "SERVICE_TOKEN": secrets["SERVICE_TOKEN"],
		"CODEC_KEYS": "k1:" + secrets["CODEC_KEYS"], "REDIS_URL": redisURL.String(), "RABBITMQ_URL": amqpURL.String(),
	}
	for k, v := range values {
		t.Setenv(k+"_FILE", writeFile(t, k, v+"\n"))
	}
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendAddress())

	var logs syncBuffer
	start := func(args ...string) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, append(args, "--log-level", "debug"), &logs, &logs) }()
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err, args[0])
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop", args[0])
			}
		})
	}
	workerHTTP, apiAddr := freeAddr(t), freeAddr(t)
	start("worker", "--http-addr", workerHTTP, "--redis-key-prefix", prefix, "--rabbitmq-exchange", topo.EventsExchange())
	start("api", "--api-addr", apiAddr, "--redis-key-prefix", prefix, "--order-service-url", "http://"+workerHTTP,
		"--inventory-service-url", "http://"+workerHTTP, "--payment-service-url", "http://"+workerHTTP)
	require.Eventually(t, func() bool {
		a, _ := get(t, "http://"+apiAddr+"/readyz", "")
		w, _ := get(t, "http://"+workerHTTP+"/readyz", "")
		return a == http.StatusOK && w == http.StatusOK
	}, 60*time.Second, 200*time.Millisecond, "both roles are ready:\n%s", &logs)

	// The secrets from the files are in force.
	code, _ := get(t, "http://"+apiAddr+"/v1/orders", "")
	require.Equal(t, http.StatusUnauthorized, code, "the API keys from API_KEYS_FILE are required")
	code, body := get(t, "http://"+apiAddr+"/v1/orders", secrets["API_KEYS"])
	require.Equal(t, http.StatusOK, code, body)
	code, _ = get(t, "http://"+workerHTTP+"/stock/widget", "")
	require.Equal(t, http.StatusUnauthorized, code, "the service token from SERVICE_TOKEN_FILE is required")
	code, _ = get(t, "http://"+workerHTTP+"/stock/widget", secrets["SERVICE_TOKEN"])
	require.NotEqual(t, http.StatusUnauthorized, code)

	var seen, help bytes.Buffer
	seen.WriteString(logs.String())
	for _, u := range []string{"http://" + apiAddr + "/metrics", "http://" + apiAddr + "/readyz",
		"http://" + workerHTTP + "/metrics", "http://" + workerHTTP + "/readyz"} {
		_, body := get(t, u, secrets["ADMIN_API_KEYS"])
		seen.WriteString(body)
	}
	for _, cmd := range []string{"worker", "api", "codec-server", "setup"} {
		require.NoError(t, run(context.Background(), []string{cmd, "--help"}, &help, &help))
		out, err := configOf(t, cmd)
		require.NoError(t, err)
		seen.WriteString(out)
	}
	require.Contains(t, seen.String(), "ordersaga_saga_backlog_age_seconds", "the metrics were read")
	require.Contains(t, help.String(), "--api-keys=STRING", "the help was read")
	for name, s := range secrets {
		require.False(t, strings.Contains(seen.String()+help.String(), s), "%s leaked", name)
	}
	// --help shows the default URL (guest:guest, the broker's own default).
	require.False(t, strings.Contains(seen.String(), ":"+rabbitPassword+"@"), "the RabbitMQ password leaked")
}
