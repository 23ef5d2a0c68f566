//go:build !slim

package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// checkout is an answer to POST /v1/orders.
type checkout struct {
	code    int
	body    map[string]any
	header  http.Header
	elapsed time.Duration
}

// placeWaiting posts order to the API at addr with extra headers (name,
// value, …), through the contract-checking client.
func placeWaiting(t *testing.T, addr, order string, header ...string) checkout {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/orders", strings.NewReader(order))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := apiClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := checkout{code: resp.StatusCode, header: resp.Header, elapsed: time.Since(start)}
	require.NoError(t, json.Unmarshal(raw, &out.body), "%s", raw)
	return out
}

// checkoutStack runs the roles apart against a real Temporal, with the
// inventory service's workers in a role of their own that can be stopped.
type checkoutStack struct {
	t               *testing.T
	api             string
	rdb             redis.UniversalClient
	prefix          string
	inventoryWorker []string
	stopInventory   func()
}

func startCheckoutStack(t *testing.T) *checkoutStack {
	rdb, prefix := redistest.New(t)
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
	s := &checkoutStack{t: t, api: api, rdb: rdb, prefix: prefix,
		inventoryWorker: append([]string{"worker", "--services", "inventory", "--http-addr", inventory}, services...)}
	s.stopInventory = stoppableRole(t, s.inventoryWorker...)
	// Admission control off: stopping the inventory workers must not shed
	// the retries (admission has its own tests).
	role(t, append([]string{"api", "--api-addr", api, "--order-service-url", "http://" + others, "--payment-service-url", "http://" + others,
		"--inventory-service-url", "http://" + inventory, "--admission-max-backlog-age", "0"}, common...)...)
	for sku, stock := range map[string]string{"pw-widget": `{"available":5,"price_cents":1000}`, "pw-lux": `{"available":5,"price_cents":60000}`} {
		require.Eventually(t, func() bool {
			code, _ := apiCall(t, api, "PUT", "/v1/inventory/"+sku, stock)
			return code == http.StatusOK
		}, 60*time.Second, 200*time.Millisecond, "the API and the inventory service answer")
	}
	return s
}

// order is the body of an order of qty units of sku.
func (s *checkoutStack) order(sku string, qty int) string {
	return `{"customer_id":"c-1","items":[{"sku":"` + sku + `","quantity":` + strconv.Itoa(qty) + `}],"payment_token":"tok_ok"}`
}

// awaitStatus polls the order until its status is want.
func (s *checkoutStack) awaitStatus(id, want string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		_, body := apiCall(s.t, s.api, "GET", "/v1/orders/"+id, "")
		return body["status"] == want
	}, 60*time.Second, 100*time.Millisecond, "order %s reaches %s", id, want)
}

// forgetKeys deletes the API's idempotency records, as if they had expired.
func (s *checkoutStack) forgetKeys() {
	require.NoError(s.t, redislua.DeletePrefix(context.Background(), s.rdb, s.prefix+"api:idempotency:"))
}

// placed checks that a answers code, with Preference-Applied wait and the
// order's Location, and returns the order's ID.
func placed(t *testing.T, a checkout, code int, wait string) string {
	t.Helper()
	require.Equal(t, code, a.code, "%v", a.body)
	require.Equal(t, wait, a.header.Get("Preference-Applied"))
	id, _ := a.body["order_id"].(string)
	if id == "" { // a problem: the order is in Location
		id = strings.TrimPrefix(a.header.Get("Location"), "/v1/orders/")
	}
	require.NotEmpty(t, id)
	require.Equal(t, "/v1/orders/"+id, a.header.Get("Location"))
	return id
}

// TestCheckoutAnswersAtTheReservation places orders with Prefer: wait
// against a real Temporal: a reservation answers 201 RESERVED (one above
// the approval threshold too: its card is authorized before it waits, and a
// retry joins the same update, which answers as it first did), short stock 409
// out_of_stock (and the saga still ends COMPENSATED); retries with an
// Idempotency-Key answer as the first did, even once its record is gone (a
// running saga is joined, an ended one answers its outcome); with the
// inventory workers stopped the wait runs out (202), and the order
// completes once they are back.
func TestCheckoutAnswersAtTheReservation(t *testing.T) {
	s := startCheckoutStack(t)
	api := s.api
	t.Run("reserved", func(t *testing.T) {
		a := placeWaiting(t, api, s.order("pw-widget", 1), "Prefer", "wait=10")
		id := placed(t, a, http.StatusCreated, "wait=10")
		require.Equal(t, "RESERVED", a.body["status"])
		t.Logf("201 RESERVED in %s", a.elapsed.Round(time.Millisecond))
		s.awaitStatus(id, "COMPLETED")
	})
	t.Run("awaiting approval, and a retry whose record is gone joins the saga", func(t *testing.T) {
		a := placeWaiting(t, api, s.order("pw-lux", 2), "Prefer", "wait=30", "Idempotency-Key", "pw-lux-1")
		id := placed(t, a, http.StatusCreated, "wait=10")
		// The card is authorized after the reservation, then the saga waits.
		require.Equal(t, "RESERVED", a.body["status"])
		s.awaitStatus(id, "AWAITING_APPROVAL")
		again := placeWaiting(t, api, s.order("pw-lux", 2), "Idempotency-Key", "pw-lux-1")
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.Equal(t, a.body, again.body)
		require.Equal(t, "wait=10", again.header.Get("Preference-Applied"))
		s.forgetKeys()
		lost := placeWaiting(t, api, s.order("pw-lux", 2), "Prefer", "wait=5", "Idempotency-Key", "pw-lux-1")
		require.Equal(t, id, placed(t, lost, http.StatusCreated, "wait=5"), "the same order")
		require.Equal(t, "RESERVED", lost.body["status"], "the same update answers as it first did")
		require.Equal(t, 3, int(stockOf(t, api, "pw-lux")["available"].(float64)), "reserved once")
	})
	t.Run("out of stock, and a retry after the saga ended", func(t *testing.T) {
		a := placeWaiting(t, api, s.order("pw-widget", 9), "Prefer", "wait=10", "Idempotency-Key", "pw-short-1")
		id := placed(t, a, http.StatusConflict, "wait=10")
		require.Equal(t, "out_of_stock", a.body["code"])
		require.Equal(t, "items[0].sku", a.body["field"])
		require.Contains(t, a.body["detail"], `sku "pw-widget"`)
		s.awaitStatus(id, "COMPENSATED")
		s.forgetKeys()
		again := placeWaiting(t, api, s.order("pw-widget", 9), "Prefer", "wait=10", "Idempotency-Key", "pw-short-1")
		require.Equal(t, id, placed(t, again, http.StatusConflict, "wait=10"), "the same order, not started again")
		require.Equal(t, "out_of_stock", again.body["code"])
	})
	s.stopInventory()
	t.Run("the wait runs out", func(t *testing.T) {
		a := placeWaiting(t, api, s.order("pw-widget", 1), "Prefer", "wait=2", "Idempotency-Key", "pw-late-1")
		id := placed(t, a, http.StatusAccepted, "wait=2")
		require.Equal(t, "RUNNING", a.body["status"])
		require.Greater(t, a.elapsed, 1500*time.Millisecond, "it waited")
		require.Less(t, a.elapsed, 3*time.Second, "within the wait")
		again := placeWaiting(t, api, s.order("pw-widget", 1), "Prefer", "wait=2", "Idempotency-Key", "pw-late-1")
		require.Equal(t, http.StatusAccepted, again.code, "a retry answers as the first did")
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		stoppableRole(t, s.inventoryWorker...)
		s.awaitStatus(id, "COMPLETED")
	})
}

// stockOf reads a SKU's stock through the API at addr.
func stockOf(t *testing.T, addr, sku string) map[string]any {
	t.Helper()
	code, body := apiCall(t, addr, "GET", "/v1/inventory/"+sku, "")
	require.Equal(t, http.StatusOK, code, "%v", body)
	return body
}
