//go:build !slim

package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// stoppableRole runs `ordersaga args...` in this process until the
// returned stop is called (or the test ends).
func stoppableRole(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() { done <- run(ctx, append(args, "--log-level", "warn"), logs, logs) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Logf("%s exited: %v", args[0], err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30s", args[0])
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s logs:\n%s", args[0], logs.String())
		}
		stop()
	})
	return stop
}

// apiCall sends a JSON request to the API at addr and decodes the answer.
func apiCall(t *testing.T, addr, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

// TestOrdersWaitForAMissingService runs the roles apart, stops the
// inventory service's workers for 60s, and places an order every 6s
// meanwhile: at least 9 of the 10 are accepted (the service is missing,
// not overloaded), /readyz and the metric name the missing service, and
// every accepted order completes once the workers are back.
func TestOrdersWaitForAMissingService(t *testing.T) {
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
	common := []string{"--temporal-address", temporal, "--redis-url", redistest.URL(), "--redis-key-prefix", prefix}
	services := append([]string{"--rabbitmq-url", amqptest.URL(), "--rabbitmq-exchange", topo.EventsExchange()}, common...)
	provider, others, inventory, api := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	role(t, append([]string{"payment-provider", "--provider-addr", provider}, common[2:]...)...)
	role(t, append([]string{"worker", "--services", "orchestrator,order,payment", "--http-addr", others,
		"--payment-provider-url", "http://" + provider}, services...)...)
	inventoryWorker := append([]string{"worker", "--services", "inventory", "--http-addr", inventory}, services...)
	stopInventory := stoppableRole(t, inventoryWorker...)
	role(t, append([]string{"api", "--api-addr", api, "--order-service-url", "http://" + others, "--payment-service-url", "http://" + others,
		"--inventory-service-url", "http://" + inventory}, common...)...)
	require.Eventually(t, func() bool {
		code, _ := apiCall(t, api, "PUT", "/v1/inventory/gadget", `{"available":100,"price_cents":500}`)
		return code == http.StatusOK
	}, 60*time.Second, 200*time.Millisecond, "the API and the inventory service answer")

	order := `{"customer_id":"c-1","items":[{"sku":"gadget","quantity":1}],"payment_token":"tok_ok"}`
	place := func() (int, string) {
		code, body := apiCall(t, api, "POST", "/v1/orders", order)
		id, _ := body["order_id"].(string)
		if code != http.StatusAccepted {
			t.Logf("order refused: %d %v", code, body)
		}
		return code, id
	}
	status := func(id string) string {
		_, body := apiCall(t, api, "GET", "/v1/orders/"+id, "")
		s, _ := body["status"].(string)
		return s
	}
	code, first := place()
	require.Equal(t, http.StatusAccepted, code)
	require.Eventually(t, func() bool { return status(first) == "COMPLETED" }, 60*time.Second, 200*time.Millisecond, "with every service up an order completes")

	stopInventory()
	stoppedAt := time.Now()
	var accepted []string
	sawMissing := false
	for i := range 10 {
		time.Sleep(time.Until(stoppedAt.Add(time.Duration(i)*6*time.Second + 3*time.Second)))
		if code, id := place(); code == http.StatusAccepted {
			accepted = append(accepted, id)
		}
		if _, ready := apiCall(t, api, "GET", "/readyz", ""); ready["status"] == "degraded" {
			require.Equal(t, map[string]any{"orchestrator": "ok", "order": "ok", "inventory": "missing", "payment": "ok"}, ready["workers"])
			sawMissing = true
		}
	}
	t.Logf("%d of 10 orders accepted while the inventory workers were stopped for %s", len(accepted), time.Since(stoppedAt).Round(time.Second))
	require.GreaterOrEqual(t, len(accepted), 9, "a missing service is not overload: orders wait for it")
	require.True(t, sawMissing, "/readyz named the inventory service missing")
	resp, err := http.Get("http://" + api + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(metrics), `ordersaga_service_workers_missing{service="inventory"} 1`)
	for _, id := range accepted {
		require.Equal(t, "RUNNING", status(id), "order %s waits for the inventory service", id)
	}

	time.Sleep(time.Until(stoppedAt.Add(60 * time.Second)))
	stoppableRole(t, inventoryWorker...)
	returned := time.Now()
	require.Eventually(t, func() bool {
		for _, id := range accepted {
			if status(id) != "COMPLETED" {
				return false
			}
		}
		return true
	}, 90*time.Second, 500*time.Millisecond, "every accepted order completes once the workers are back")
	t.Logf("all %d completed %s after the workers returned", len(accepted), time.Since(returned).Round(time.Second))
	_, ready := apiCall(t, api, "GET", "/readyz", "")
	require.Equal(t, "ready", ready["status"], "%v", ready)
}
