//go:build !slim

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// role runs `ordersaga args...` in this process until the test ends.
func role(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		err := run(ctx, append(args, "--log-level", "warn"), logs, logs)
		if err != nil {
			_, _ = logs.Write([]byte("exited: " + err.Error()))
		}
		done <- err
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s logs:\n%s", args[0], logs.String())
		}
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30s", args[0])
		}
	})
}

// placeOrder posts an order for an unknown SKU (its saga compensates at
// once) and returns the status, Retry-After and problem code.
func placeOrder(t *testing.T, api string) (status int, retryAfter, code string) {
	t.Helper()
	body := `{"customer_id":"c-1","items":[{"sku":"no-such-sku","quantity":1}],"payment_token":"tok_ok"}`
	resp, err := http.Post("http://"+api+"/v1/orders", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	var p struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, resp.Header.Get("Retry-After"), p.Code
}

// TestAdmissionBoundsOrdersWaitingForMissingWorkers runs the API and
// Temporal without any worker: that is no overload but a missing service,
// so orders are accepted, and wait, until as many tasks wait on it as
// --admission-max-waiting-on-missing allows; then new orders answer 503
// service_missing with Retry-After. When the workers start and drain the
// backlog, orders are accepted again.
func TestAdmissionBoundsOrdersWaitingForMissingWorkers(t *testing.T) {
	_, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t, prefix+"timeline")
	temporal := freeAddr(t)
	role(t, "temporal-server", "--data-dir", t.TempDir(), "--temporal-port", port(temporal), "--ui-port=-1")
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", temporal)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 90*time.Second, 100*time.Millisecond, "the Temporal frontend listens")
	// Picked once the server has bound its ports (it picks free ones too).
	api := freeAddr(t)
	role(t, "api", "--temporal-address", temporal, "--api-addr", api, "--redis-url", redistest.URL(), "--redis-key-prefix", prefix,
		"--admission-max-backlog-age", "200ms", "--admission-retry-after", "2s", "--admission-missing-after", "1s",
		"--admission-max-waiting-on-missing", "3")

	accepted := 0
	refused := func() bool {
		status, retryAfter, code := placeOrder(t, api)
		switch status {
		case 0: // the API is not listening yet
		case http.StatusAccepted:
			accepted++
		case http.StatusServiceUnavailable:
			require.Equal(t, "5", retryAfter)
			require.Equal(t, "service_missing", code)
			return true
		default:
			t.Fatalf("answered %d %s: a missing service is not overload", status, code)
		}
		return false
	}
	require.Eventually(t, refused, 90*time.Second, 200*time.Millisecond, "no worker polls: orders wait up to the bound")
	require.GreaterOrEqual(t, accepted, 3, "orders were accepted while fewer than 3 waited")

	role(t, "worker", "--temporal-address", temporal, "--http-addr", freeAddr(t), "--redis-url", redistest.URL(),
		"--redis-key-prefix", prefix, "--rabbitmq-url", amqptest.URL(), "--rabbitmq-exchange", topo.EventsExchange())
	require.Eventually(t, func() bool {
		status, _, _ := placeOrder(t, api)
		return status == http.StatusAccepted
	}, 60*time.Second, 200*time.Millisecond, "the workers drained the backlog: orders are accepted again")
}
