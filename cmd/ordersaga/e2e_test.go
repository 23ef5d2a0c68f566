//go:build !slim

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api/contract"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/codec"
	"github.com/ordersaga/ordersaga/internal/replay"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/workflows"
)

// stack is one `ordersaga dev` started in process by run(), as a user would
// start it, with its own ports, data directory and Redis key prefix.
type stack struct {
	t        *testing.T
	api      string
	services string // the services' APIs (dev's --http-addr)
	temporal string
	ui       string
	provider string
	args     []string
	logs     *syncBuffer
	stop     func()
	topo     broker.Topology
	// key, if set, is the API key do sends.
	key string
}

// e2eServiceToken is the service token the test stacks share with their
// gateway.
const e2eServiceToken = "e2e-service-token-0123456789"

// e2eProviderKey is the payment provider's secret key in the e2e stacks.
const e2eProviderKey = "e2e-provider-key-0123456789"

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func startStack(t *testing.T, extra ...string) *stack {
	t.Helper()
	_, prefix := redistest.New(t)
	queue := prefix + "timeline"
	topo, _ := amqptest.Topology(t, queue)
	s := &stack{t: t, logs: &syncBuffer{}, topo: topo}
	dataDir := t.TempDir()
	// The ports are picked before dev starts, and the embedded Temporal
	// server picks free ports of its own meanwhile: on a collision, pick
	// again.
	for attempt := 1; ; attempt++ {
		s.api, s.services, s.temporal, s.ui, s.provider = freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
		s.args = append([]string{"dev",
			"--data-dir", dataDir,
			"--temporal-port", port(s.temporal), "--ui-port", port(s.ui),
			"--api-addr", s.api, "--provider-addr", s.provider,
			"--http-addr", s.services, "--service-token", e2eServiceToken, "--provider-secret-key", e2eProviderKey,
			"--redis-url", redistest.URLFor(t), "--redis-key-prefix", prefix,
			"--rabbitmq-url", amqptest.URL(), "--rabbitmq-exchange", topo.EventsExchange(), "--timeline-queue", queue,
			"--payment-timeout", "300ms", "--provider-slow-delay", "1s",
			"--log-level", "warn",
		}, extra...)
		err := s.tryStart()
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("dev exited early: %v\n%s", err, s.logs.String())
		}
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("ordersaga dev logs:\n%s", s.logs.String())
		}
	})
	return s
}

// start runs dev and waits until /readyz answers 200.
func (s *stack) start() {
	if err := s.tryStart(); err != nil {
		s.t.Fatalf("dev exited early: %v\n%s", err, s.logs.String())
	}
}

// tryStart runs dev and waits until /readyz answers 200; it returns dev's
// error if dev exits first.
func (s *stack) tryStart() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, s.args, io.Discard, s.logs) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(s.t, err, "dev shuts down cleanly")
			case <-time.After(60 * time.Second):
				s.t.Error("dev did not shut down within 60s")
			}
		})
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			cancel()
			s.stop = func() {}
			if err == nil {
				err = errors.New("dev returned")
			}
			return err
		default:
		}
		if resp, err := http.Get("http://" + s.api + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("dev not ready within 90s\n%s", s.logs.String())
	return nil
}

// apiClient sends the tests' API requests; an exchange that breaks the
// API's OpenAPI contract fails the request, naming each breach.
var apiClient = func() *http.Client {
	c, err := contract.New()
	if err != nil {
		panic(err)
	}
	return &http.Client{Transport: c.Transport(nil)}
}()

// do sends a JSON request with the stack's default key and decodes the
// JSON answer.
func (s *stack) do(method, path string, body any) (int, map[string]any, http.Header) {
	s.t.Helper()
	return s.doAs(s.key, method, path, body)
}

// doAs sends a JSON request with API key (none if empty) and extra headers
// (name, value, ...) and decodes the JSON answer.
func (s *stack) doAs(key, method, path string, body any, header ...string) (int, map[string]any, http.Header) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(s.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+s.api+path, rd)
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := apiClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		require.NoError(s.t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return resp.StatusCode, out, resp.Header
}

func (s *stack) order(sku string, qty int, token string) string {
	s.t.Helper()
	code, body, hdr := s.do("POST", "/v1/orders", map[string]any{
		"customer_id": "cust-1", "items": []map[string]any{{"sku": sku, "quantity": qty}}, "payment_token": token})
	require.Equal(s.t, http.StatusAccepted, code, "%v", body)
	id := body["order_id"].(string)
	require.Equal(s.t, "/v1/orders/"+id, hdr.Get("Location"))
	require.Equal(s.t, "order-"+id, body["workflow_id"])
	return id
}

// await polls the order until its status is want.
func (s *stack) await(id, want string) map[string]any {
	s.t.Helper()
	var last map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, body, _ := s.do("GET", "/v1/orders/"+id, nil)
		require.Equal(s.t, 200, code, "%v", body)
		last = body
		if body["status"] == want {
			return body
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("order %s never reached %s; last: %v", id, want, last)
	return nil
}

func (s *stack) stock(sku string) map[string]any {
	s.t.Helper()
	code, body, _ := s.do("GET", "/v1/inventory/"+sku, nil)
	require.Equal(s.t, 200, code)
	return body
}

func (s *stack) ledger() map[string]any {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.provider+"/v1/ledger", nil)
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+e2eProviderKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(s.t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// eventTypes polls the order's timeline until it holds n events and
// returns their types in order.
func (s *stack) eventTypes(id string, n int) []string {
	s.t.Helper()
	var types []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		code, body, _ := s.do("GET", "/v1/orders/"+id+"/events", nil)
		require.Equal(s.t, 200, code, "%v", body)
		types = types[:0]
		for _, e := range body["events"].([]any) {
			ev := e.(map[string]any)
			require.Equal(s.t, "1.0", ev["specversion"])
			require.Equal(s.t, id, ev["subject"])
			types = append(types, ev["type"].(string))
		}
		if len(types) >= n {
			return types
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("order %s: %d events, want %d: %v", id, len(types), n, types)
	return nil
}

func step(order map[string]any, name string) map[string]any {
	for _, st := range order["steps"].([]any) {
		if m := st.(map[string]any); m["name"] == name {
			return m
		}
	}
	return nil
}

// TestDevEndToEnd drives every documented curl flow against one `ordersaga
// dev`: real embedded Temporal (SQLite file), real Redis, all workers, the
// simulated provider, over HTTP.
func TestDevEndToEnd(t *testing.T) {
	s := startStack(t, "--approval-timeout", "4s")

	t.Run("success commits stock and keeps the money", func(t *testing.T) {
		before, money := s.stock("widget"), s.ledger()
		id := s.order("widget", 2, "tok_ok")
		o := s.await(id, "COMPLETED")
		require.EqualValues(t, 5000, o["total_cents"])
		require.Equal(t, "completed", step(o, "commit_inventory")["status"])
		after := s.stock("widget")
		require.Equal(t, before["available"].(float64)-2, after["available"])
		require.Equal(t, before["committed"].(float64)+2, after["committed"])
		// Authorized, then captured: the provider took the total once.
		cents := func(l map[string]any, k string) float64 { v, _ := l[k].(float64); return v } // omitted when 0
		require.Equal(t, cents(money, "captured_cents")+5000, cents(s.ledger(), "captured_cents"))
		require.Equal(t, cents(money, "charged_cents"), cents(s.ledger(), "charged_cents"))

		// The gateway's view carries each service's record of the order. The
		// records are read in parallel with the saga's state, so the view that
		// first showed COMPLETED may hold one read an instant before: read anew.
		code, o, _ := s.do("GET", "/v1/orders/"+id, nil)
		require.Equal(t, http.StatusOK, code)
		require.NotContains(t, o, "unavailable")
		order, reservation, payment := o["order"].(map[string]any), o["reservation"].(map[string]any), o["payment"].(map[string]any)
		require.Equal(t, "CONFIRMED", order["status"])
		require.EqualValues(t, 5000, order["total_cents"])
		require.Equal(t, "committed", reservation["state"])
		require.EqualValues(t, 5000, reservation["total_cents"])
		require.Equal(t, "captured", payment["state"])
		require.EqualValues(t, 5000, payment["amount_cents"])
		require.Equal(t, o["charge_id"], payment["charge_id"])
		require.Equal(t, o["authorization_id"], payment["authorization_id"])
		require.NotEmpty(t, payment["authorization_id"])
	})

	t.Run("decline compensates: stock back, no money kept", func(t *testing.T) {
		before, money := s.stock("widget"), s.ledger()
		id := s.order("widget", 3, "tok_declined")
		o := s.await(id, "COMPENSATED")
		require.Contains(t, o["failure_reason"], "payment declined")
		require.Equal(t, "compensated", step(o, "reserve_inventory")["status"])
		require.Equal(t, "compensated", step(o, "create_order")["status"])
		require.Equal(t, before, s.stock("widget"))
		require.Equal(t, money, s.ledger())
	})

	t.Run("out of stock compensates the order", func(t *testing.T) {
		before := s.stock("last-one")
		id := s.order("last-one", 2, "tok_ok")
		o := s.await(id, "COMPENSATED")
		require.Contains(t, o["failure_reason"], "out of stock")
		require.Equal(t, "failed", step(o, "reserve_inventory")["status"])
		require.Equal(t, before, s.stock("last-one"))
	})

	t.Run("flaky and slow payments are retried to success", func(t *testing.T) {
		flaky := s.order("widget", 1, "tok_flaky")
		slow := s.order("widget", 1, "tok_slow")
		require.EqualValues(t, 3, step(s.await(flaky, "COMPLETED"), "authorize_payment")["attempts"])
		require.EqualValues(t, 2, step(s.await(slow, "COMPLETED"), "authorize_payment")["attempts"])
	})

	t.Run("approval granted", func(t *testing.T) {
		id := s.order("gizmo", 2, "tok_ok")
		s.await(id, "AWAITING_APPROVAL")
		code, body, _ := s.do("POST", "/v1/orders/"+id+"/approve", nil)
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		s.await(id, "COMPLETED")
		code, body, _ = s.do("POST", "/v1/orders/"+id+"/approve", nil)
		require.Equal(t, http.StatusConflict, code)
		require.Contains(t, body["detail"], "already ended")
	})

	t.Run("approval timeout cancels", func(t *testing.T) {
		before := s.stock("gizmo")
		id := s.order("gizmo", 2, "tok_ok")
		o := s.await(id, "CANCELLED")
		require.Equal(t, "approval timed out after 4s", o["failure_reason"])
		require.Equal(t, before, s.stock("gizmo"))
	})

	t.Run("cancel before the pivot compensates; after it is refused", func(t *testing.T) {
		before := s.stock("gizmo")
		id := s.order("gizmo", 2, "tok_ok")
		s.await(id, "AWAITING_APPROVAL")
		code, body, _ := s.do("POST", "/v1/orders/"+id+"/cancel", map[string]string{"reason": "changed my mind"})
		require.Equal(t, http.StatusAccepted, code, "%v", body)
		o := s.await(id, "CANCELLED")
		require.Equal(t, "changed my mind", o["failure_reason"])
		require.Equal(t, before, s.stock("gizmo"))

		done := s.order("widget", 1, "tok_ok")
		s.await(done, "COMPLETED")
		code, body, hdr := s.do("POST", "/v1/orders/"+done+"/cancel", nil)
		require.Equal(t, http.StatusConflict, code)
		require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
		require.Contains(t, body["detail"], "already ended")
	})

	t.Run("errors are problems", func(t *testing.T) {
		code, body, hdr := s.do("GET", "/v1/orders/does-not-exist", nil)
		require.Equal(t, http.StatusNotFound, code)
		require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
		require.EqualValues(t, 404, body["status"])
		code, body, _ = s.do("POST", "/v1/orders", map[string]any{"customer_id": "c", "items": []any{}, "payment_token": "tok_ok"})
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "items", body["field"])
		code, _, _ = s.do("GET", "/v1/inventory/no-such-sku", nil)
		require.Equal(t, http.StatusNotFound, code)
	})

	t.Run("each saga path emits its documented events", func(t *testing.T) {
		tap := amqptest.Tap(t, s.topo)
		ok := s.order("widget", 1, "tok_ok")
		declined := s.order("widget", 1, "tok_declined")
		short := s.order("last-one", 5, "tok_ok")
		cancelled := s.order("gizmo", 2, "tok_ok")
		s.await(cancelled, "AWAITING_APPROVAL")
		code, _, _ := s.do("POST", "/v1/orders/"+cancelled+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, code)

		// The order's creation and the reservation start together, as do
		// the retriable steps: their events come in either order.
		startedTogether := []string{"order.created", "inventory.reserved"}
		got := s.eventTypes(ok, 6)
		require.ElementsMatch(t, startedTogether, got[:2])
		require.Equal(t, []string{"payment.authorized", "payment.captured"}, got[2:4])
		require.ElementsMatch(t, []string{"order.confirmed", "inventory.committed"}, got[4:], "the retriable steps run concurrently")
		got = s.eventTypes(declined, 5)
		require.ElementsMatch(t, startedTogether, got[:2])
		require.Equal(t, []string{"payment.declined", "inventory.released", "order.cancelled"}, got[2:])
		require.Equal(t, []string{"order.created", "order.cancelled"}, s.eventTypes(short, 2))
		// Cancelled while awaiting approval: the hold is voided and the
		// stock released side by side, then the order is cancelled.
		got = s.eventTypes(cancelled, 6)
		require.ElementsMatch(t, startedTogether, got[:2])
		require.Equal(t, "payment.authorized", got[2])
		require.ElementsMatch(t, []string{"payment.voided", "inventory.released"}, got[3:5])
		require.Equal(t, "order.cancelled", got[5])

		// The same events on the wire, with their AMQP properties.
		deadline := time.After(10 * time.Second)
		for {
			select {
			case d := <-tap:
				if d.Type != "payment.captured" || d.CorrelationId != "order-"+ok {
					continue
				}
				require.Equal(t, "order-"+ok+"/capture_payment#payment.captured", d.MessageId)
				require.Equal(t, "application/cloudevents+json", d.ContentType)
				require.Equal(t, "payment.captured", d.RoutingKey)
				return
			case <-deadline:
				t.Fatal("payment.captured never reached the tap")
			}
		}
	})

	t.Run("a stock write goes through the inventory service and emits inventory.restocked", func(t *testing.T) {
		tap := amqptest.Tap(t, s.topo)
		before := s.stock("gadget")
		code, body, _ := s.do("PUT", "/v1/inventory/gadget", map[string]any{"available": before["available"].(float64) + 5, "price_cents": 12000})
		require.Equal(t, http.StatusOK, code, "%v", body)
		deadline := time.After(10 * time.Second)
		for {
			select {
			case d := <-tap:
				if d.Type != "inventory.restocked" {
					continue
				}
				var ev map[string]any
				require.NoError(t, json.Unmarshal(d.Body, &ev))
				require.Equal(t, "gadget", ev["subject"])
				require.NotContains(t, ev, "workflowid", "a restock belongs to no saga")
				require.Equal(t, before["available"].(float64)+5, ev["data"].(map[string]any)["available"])
				return
			case <-deadline:
				t.Fatal("inventory.restocked never reached the tap")
			}
		}
	})

	t.Run("the services' APIs need the token; health, readiness and metrics do not", func(t *testing.T) {
		get := func(path, token string) (int, string) {
			req, _ := http.NewRequest("GET", "http://"+s.services+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(raw)
		}
		code, _ := get("/stock/widget", "")
		require.Equal(t, http.StatusUnauthorized, code)
		code, body := get("/stock/widget", e2eServiceToken)
		require.Equal(t, http.StatusOK, code, body)
		code, body = get("/readyz", "")
		require.Equal(t, http.StatusOK, code, body)
		code, body = get("/metrics", "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, "ordersaga_outbox_published_total")
	})

	t.Run("tap prints the events", func(t *testing.T) {
		var out syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(context.Background(), []string{"tap", "payment.captured", "--count", "1", "--rabbitmq-url", amqptest.URL(),
				"--rabbitmq-exchange", s.topo.EventsExchange()}, &out, io.Discard)
		}()
		time.Sleep(300 * time.Millisecond) // bound
		id := s.order("widget", 1, "tok_ok")
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Fatal("tap printed nothing")
		}
		require.Contains(t, out.String(), `"type":"payment.captured"`)
		require.Contains(t, out.String(), `"subject":"`+id+`"`)
	})

	t.Run("history export and replay", func(t *testing.T) {
		id := s.order("widget", 1, "tok_ok")
		s.await(id, "COMPLETED")
		file := filepath.Join(t.TempDir(), "h.json")
		require.NoError(t, run(context.Background(), []string{"history", "export", "--workflow-id", "order-" + id,
			"--temporal-address", s.temporal, "-o", file}, io.Discard, io.Discard))
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{"replay", file}, &out, io.Discard))
		require.Contains(t, out.String(), "ok    "+file)
		out.Reset()
		require.NoError(t, run(context.Background(), []string{"replay", "--temporal-address", s.temporal,
			"--query", fmt.Sprintf("WorkflowId = 'order-%s'", id)}, &out, io.Discard))
		require.Contains(t, out.String(), "all 1 histories replay")
	})

	t.Run("sagas are searchable by order id and the web ui is served", func(t *testing.T) {
		id := s.order("widget", 1, "tok_ok")
		s.await(id, "COMPLETED")
		c, err := client.Dial(client.Options{HostPort: s.temporal})
		require.NoError(t, err)
		defer c.Close()
		require.Eventually(t, func() bool {
			res, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
				Query: fmt.Sprintf("OrderId = %q AND SagaStatus = 'COMPLETED'", id)})
			return err == nil && len(res.GetExecutions()) == 1
		}, 10*time.Second, 100*time.Millisecond)
		resp, err := http.Get("http://" + s.ui + "/")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	})
}

func TestReplayCommandNamesFailingHistories(t *testing.T) {
	good := filepath.Join("..", "..", "testdata", "histories", "v1", "success.json")
	raw, err := os.ReadFile(good)
	require.NoError(t, err)
	tampered := filepath.Join(t.TempDir(), "tampered.json")
	require.NoError(t, os.WriteFile(tampered, bytes.ReplaceAll(raw, []byte(`"CommitInventory"`), []byte(`"ShipOrder"`)), 0o644))

	var out bytes.Buffer
	err = run(context.Background(), []string{"replay", good, tampered}, &out, io.Discard)
	require.ErrorContains(t, err, "1 of 2 histories do not replay: "+tampered)
	require.Contains(t, out.String(), "ok    "+good)
	require.Contains(t, out.String(), "FAIL  "+tampered+": [TMPRL1100]")
}

// TestDevSurvivesRestart stops dev while a saga awaits approval and starts it
// again on the same data directory: the saga resumes.
func TestDevSurvivesRestart(t *testing.T) {
	s := startStack(t)
	id := s.order("gizmo", 2, "tok_ok")
	s.await(id, "AWAITING_APPROVAL")
	s.stop()
	s.start()
	code, body, _ := s.do("POST", "/v1/orders/"+id+"/approve", nil)
	require.Equal(t, http.StatusAccepted, code, "%v", body)
	s.await(id, "COMPLETED")
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestUnreachableRedisIsOneLineError(t *testing.T) {
	err := run(context.Background(), []string{"dev", "--redis-url", "redis://127.0.0.1:1/0"}, io.Discard, io.Discard)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "\n")
	require.Contains(t, err.Error(), "redis at redis://127.0.0.1:1/0 is unreachable")
	require.Contains(t, err.Error(), "docker compose up -d redis")
}

func TestHelpListsEveryFlagWithItsEnvironmentVariable(t *testing.T) {
	for _, cmd := range []string{"dev", "worker", "api", "payment-provider"} {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{cmd, "--help"}, &out, io.Discard))
		require.Contains(t, out.String(), "($REDIS_URL)", cmd)
		require.Contains(t, out.String(), "($LOG_LEVEL)", cmd)
	}
}

// TestBenchSmoke runs a short bench of ours and the baseline on an embedded
// stack: it must complete every saga, report each run's CPU per saga, shed
// orders and series, and write its HTML report with the charts (a smoke
// test, not a timing test).
func TestBenchSmoke(t *testing.T) {
	page := filepath.Join(t.TempDir(), "report.html")
	rep, stdout := runBench(t, "--orders", "20", "--concurrency", "5", "--baseline", "--report", page)
	require.Len(t, rep.Runs, 2)
	for _, r := range rep.Runs {
		require.Equal(t, 20, r.Completed, r.Name)
		require.Zero(t, r.Failed, "%s: %v", r.Name, r.ErrorSamples)
		require.Zero(t, r.Rejected, r.Name)
		require.Greater(t, r.TransitionsPerSaga, 0.0)
		require.Greater(t, r.CPUSecondsPerSaga, 0.0, r.Name)
		require.NotEmpty(t, r.Series, r.Name)
		completed := 0
		for _, p := range r.Series {
			completed += p.Completed
		}
		require.Equal(t, r.Completed, completed, "every completed saga is in the series")
	}
	require.Contains(t, stdout, "ours/baseline")
	require.Positive(t, rep.Ratios["cpu_seconds_per_saga"])
	html, err := os.ReadFile(page)
	require.NoError(t, err)
	require.Equal(t, 3, strings.Count(string(html), "<svg"), "throughput, latency and comparison charts")
	for _, r := range rep.Runs {
		require.Contains(t, string(html), r.Name)
	}
}

// TestCodecKeepsSecretsOutOfHistory runs dev with payload encryption: the
// payment token and customer ID never appear in Temporal's history, the
// saga is still found by its customer reference, replay needs the keys, and
// the codec server decodes for the CLI (with a key) and the Web UI (through
// the endpoint the UI is given).
func TestCodecKeepsSecretsOutOfHistory(t *testing.T) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	keysSpec := "k1:" + base64.StdEncoding.EncodeToString(raw)
	codecAddr := freeAddr(t)
	const codecKey = "cli-codec-key-0123456789"
	s := startStack(t, "--codec-keys", keysSpec, "--codec-addr", codecAddr, "--codec-auth-keys", "cli:"+codecKey)

	code, body, _ := s.do("POST", "/v1/orders", map[string]any{"customer_id": "cust-secret-42",
		"items": []map[string]any{{"sku": "widget", "quantity": 1}}, "payment_token": "tok_ok"})
	require.Equal(t, http.StatusAccepted, code)
	id := body["order_id"].(string)
	o := s.await(id, "COMPLETED")
	require.Equal(t, "cust-secret-42", o["customer_id"], "the API decodes the saga's state")

	plain, err := client.Dial(client.Options{HostPort: s.temporal})
	require.NoError(t, err)
	defer plain.Close()
	h, err := replay.Fetch(context.Background(), plain, "order-"+id, "")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, replay.WriteJSON(&buf, h))
	history := buf.String()
	for _, secret := range []string{"cust-secret-42", "tok_ok"} {
		require.NotContains(t, history, secret)
		for _, p := range payloadData(t, buf.Bytes()) {
			require.NotContains(t, string(p), secret, "a payload holds %q in clear", secret)
		}
	}

	keys, err := codec.ParseKeys(keysSpec, "")
	require.NoError(t, err)
	res, err := plain.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("CustomerId = %q", keys.Ref("cust-secret-42"))})
	require.NoError(t, err)
	require.Len(t, res.GetExecutions(), 1, "found by the customer reference")
	// After a key rotation the API lists a customer by every key's
	// reference, with IN: the visibility store takes it.
	rotated, err := codec.ParseKeys("k0:"+base64.StdEncoding.EncodeToString(make([]byte, 32))+","+keysSpec, "k0")
	require.NoError(t, err)
	refs := rotated.Refs("cust-secret-42")
	require.Equal(t, keys.Ref("cust-secret-42"), refs[1], "the old key's reference comes after the new one's")
	res, err = plain.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("CustomerId IN (%q, %q)", refs[0], refs[1])})
	require.NoError(t, err)
	require.Len(t, res.GetExecutions(), 1, "found by its old reference among the customer's references")
	listed := s.awaitListed("", "?customer_id=cust-secret-42", id)
	require.Equal(t, "cust-secret-42", listed[0]["customer_id"], "the API lists by the reference it computes")
	all, _ := s.list("", "")
	require.NotContains(t, all[0], "customer_id", "only the reference is stored: no customer in clear")

	// A client without the keys cannot get a saga to run on plaintext.
	wf, err := plain.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: "order-plaintext-" + id, TaskQueue: workflows.TaskQueueOrchestrator,
	}, workflows.WorkflowName, workflows.Input{OrderID: "plaintext-" + id, CustomerID: "cust-1",
		Items: []ordersaga.Item{{SKU: "widget", Quantity: 1}}, PaymentToken: "tok_ok"})
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.ErrorContains(t, wf.Get(wctx, nil), "payload is not encrypted", "the worker refuses the plaintext input")

	file := filepath.Join(t.TempDir(), "h.json")
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))
	require.NoError(t, run(context.Background(), []string{"replay", "--codec-keys", keysSpec, file}, io.Discard, io.Discard))
	require.Error(t, run(context.Background(), []string{"replay", file}, io.Discard, io.Discard), "replay without the keys cannot decode")

	// The codec server decodes the start event's input for the CLI, with a
	// key, and for the Web UI, through the endpoint the UI is configured with.
	start := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetInput()
	in, err := protojson.Marshal(start)
	require.NoError(t, err)
	decode := func(endpoint string, header ...string) (int, []byte) {
		req, _ := http.NewRequest("POST", endpoint+"/decode", bytes.NewReader(in))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	holdsCustomer := func(decoded []byte) bool {
		for _, p := range payloadData(t, decoded) {
			if strings.Contains(string(p), "cust-secret-42") {
				return true
			}
		}
		return false
	}
	code, _ = decode("http://" + codecAddr)
	require.Equal(t, http.StatusUnauthorized, code, "no key, no decoding")
	code, decoded := decode("http://"+codecAddr, "Authorization", "Bearer "+codecKey)
	require.Equal(t, http.StatusOK, code)
	require.True(t, holdsCustomer(decoded), "decoded: %s", decoded)

	resp, err := http.Get("http://" + s.ui + "/api/v1/settings")
	require.NoError(t, err)
	var settings struct{ Codec struct{ Endpoint string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	resp.Body.Close()
	require.True(t, strings.HasPrefix(settings.Codec.Endpoint, "http://"+codecAddr+"/"), settings.Codec.Endpoint)
	code, decoded = decode(settings.Codec.Endpoint, "Origin", "http://localhost:"+port(s.ui))
	require.Equal(t, http.StatusOK, code, "the Web UI decodes through its capability endpoint")
	require.True(t, holdsCustomer(decoded), "decoded: %s", decoded)
}

// payloadData returns every base64 "data" field of a JSON document, decoded.
func payloadData(t *testing.T, doc []byte) [][]byte {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(doc, &v))
	var out [][]byte
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "data" {
					if b, err := base64.StdEncoding.DecodeString(s); err == nil {
						out = append(out, b)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
