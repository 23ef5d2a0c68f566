//go:build !slim

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestRedisChecksAreNamedByRole ensures the readiness checks of the Redis
// a process uses are named by the keyspaces each holds, never by its URL:
// /readyz is open on every listener.
func TestRedisChecksAreNamedByRole(t *testing.T) {
	t.Parallel()
	redistest.New(t) // Redis answers (or the test fails here)
	def, other := "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"
	pool, err := openRedis(context.Background(), def, other)
	require.NoError(t, err)
	defer pool.Close()
	pool.name(def, map[string]string{"timeline": other, "order": def})
	var names []string
	for _, c := range pool.checks() {
		names = append(names, c.Name)
		require.NoError(t, c.Fn(context.Background()))
	}
	require.ElementsMatch(t, []string{"redis", "redis-timeline"}, names)

	unnamed, err := openRedis(context.Background(), def, other)
	require.NoError(t, err)
	defer unnamed.Close()
	names = nil
	for _, c := range unnamed.checks() {
		names = append(names, c.Name)
	}
	require.ElementsMatch(t, []string{"redis", "redis-2"}, names, "unique, and still no address")
}

// TestRoleReadyzTellsNoAddress ensures a role's /readyz names a failing
// check and says "failing", keeping the dependency's error (which names
// its address) for the log; RabbitMQ's check is named, not described by
// its URL.
func TestRoleReadyzTellsNoAddress(t *testing.T) {
	t.Parallel()
	refused := errors.New("dial tcp 10.1.2.3:6379: connect: connection refused")
	rabbit := rabbitCheck(RabbitFlags{RabbitMQURL: "amqp://guest:guest@127.0.0.1:1/"})
	require.Equal(t, "rabbitmq", rabbit.Name)
	h := roleHTTP{checks: []servicehttp.Check{rabbit, {Name: "redis", Fn: func(context.Context) error { return refused }}},
		reg: prometheus.NewRegistry()}
	srv, err := h.serve("127.0.0.1:0", "", HTTPFlags{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer srv.Shutdown(time.Second)
	resp, err := http.Get("http://" + srv.Addr() + "/readyz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.JSONEq(t, `{"rabbitmq":"failing","redis":"failing"}`, string(mustField(t, body, "checks")))
	require.NotContains(t, string(body), "10.1.2.3")
	require.NotContains(t, string(body), "127.0.0.1")
}

// mustField returns the raw JSON of a top-level field of body.
func mustField(t *testing.T, body []byte, name string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return m[name]
}
