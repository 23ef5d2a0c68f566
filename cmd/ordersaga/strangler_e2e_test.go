//go:build !slim

package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api/placement"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestDevInFrontOfAMonolith ensures `dev --routes --placement-queue`
// proxies a legacy route to the monolith, starts a saga from the
// monolith's placement event (on the real RabbitMQ) whose outcome comes
// back as the saga's events, refuses a bad routes file on SIGHUP keeping
// its routes, and takes a good one.
func TestDevInFrontOfAMonolith(t *testing.T) {
	monolith := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "monolith:"+r.URL.Path)
	}))
	t.Cleanup(monolith.Close)
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	writeRoutes := func(to string) {
		require.NoError(t, os.WriteFile(routes, []byte("legacy_url: "+monolith.URL+"\nroutes:\n  - prefix: /legacy/\n    to: "+to+"\n"), 0o600))
	}
	writeRoutes("legacy")
	_, prefix := redistest.New(t)
	queue := prefix + "placement"
	t.Cleanup(func() { deleteQueue(t, queue) })
	s := startStack(t, "--routes", routes, "--placement-queue", queue)

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.api + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/legacy/hello")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "monolith:/legacy/hello", body)

	ch, err := amqptest.Dial(t).Channel()
	require.NoError(t, err)
	ev := `{"specversion":"1.0","id":"cart-1/checkout","source":"/monolith/checkout","type":"order.placement_requested",` +
		`"subject":"cart-1","time":"2026-12-03T07:00:00Z","data":{"customer_id":"cust-9","items":[{"sku":"widget","quantity":1}],"payment_token":"tok_ok"}}`
	require.NoError(t, ch.PublishWithContext(context.Background(), s.topo.EventsExchange(), placement.EventType, false, false,
		amqp.Publishing{ContentType: "application/cloudevents+json", DeliveryMode: amqp.Persistent, Body: []byte(ev)}))
	id := placement.OrderID("/monolith/checkout", "cart-1/checkout")
	require.Eventually(t, func() bool { code, _, _ := s.do("GET", "/v1/orders/"+id, nil); return code == http.StatusOK }, 20*time.Second,
		50*time.Millisecond, "the placement event starts the saga")
	s.await(id, "COMPLETED")
	require.Contains(t, s.eventTypes(id, 5), "order.confirmed", "the monolith learns the outcome from the saga's events")

	writeRoutes("legasy")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(s.logs.String(), "routes file refused") },
		10*time.Second, 20*time.Millisecond)
	code, _ = get("/legacy/hello")
	require.Equal(t, http.StatusOK, code, "the routes in force are kept")

	writeRoutes("ordersaga")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { code, _ := get("/legacy/hello"); return code == http.StatusNotFound }, 10*time.Second, 20*time.Millisecond,
		"rolled forward: ordersaga answers the path")
}

// deleteQueue deletes a test's queue on the real RabbitMQ.
func deleteQueue(t *testing.T, name string) {
	conn, ch, err := broker.Open(context.Background(), amqptest.URL(), 5*time.Second)
	if err == nil {
		defer conn.Close()
		_, err = ch.QueueDelete(name, false, false, false)
	}
	if err != nil {
		t.Errorf("delete queue %s: %v", name, err)
	}
}

// TestRoutesFileFromTheConfigFile ensures --routes may be given in the
// config file, under api:, like any flag.
func TestRoutesFileFromTheConfigFile(t *testing.T) {
	file := writeFile(t, "c.yaml", "api:\n  routes: /etc/ordersaga/routes.yaml\n  legacy-timeout: 3s\n")
	out, err := configOf(t, "api", "--config", file)
	require.NoError(t, err)
	require.Contains(t, out, `routes: "/etc/ordersaga/routes.yaml"  # config file`)
	require.Contains(t, out, `legacy-timeout: "3s"  # config file`)
}

// TestBadRoutesFileStopsTheAPIAtStart ensures a routes file that does not
// load stops the gateway at start, naming the file, the line and the
// reason.
func TestBadRoutesFileStopsTheAPIAtStart(t *testing.T) {
	bad := writeFile(t, "routes.yaml", "legacy_url: http://monolith\nroutes:\n  - prefix: /a/\n    to: legasy\n")
	var reg = newRegistry()
	bg := newBackground()
	defer bg.Stop()
	_, err := StranglerFlags{RoutesFile: bad}.front(bg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, "--routes: "+bad+`:4: route 1 (prefix "/a/"): to "legasy"`)
}
