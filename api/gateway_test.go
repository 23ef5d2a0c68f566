package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/workflows"
)

const serviceToken = "gateway-token-0123456789"

// services is the three services, each with its real store on Redis and
// its real API on its own server, which a test may stop or wrap.
type services struct {
	orders    *order.Store
	inventory *inventory.Store
	payments  *payment.Store
	servers   map[string]*httptest.Server
	sagas     *fakeSagas
	gateway   http.Handler
}

// newServices starts the services and a gateway over them; wrap, if set,
// wraps a service's handler (keyed by part name).
func newServices(t *testing.T, wrap map[string]func(http.Handler) http.Handler) *services {
	t.Helper()
	rdb, prefix := redistest.New(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &services{
		orders:    order.NewStore(rdb, redislua.NewKeyspace(prefix, "order")),
		inventory: inventory.NewStore(rdb, redislua.NewKeyspace(prefix, "inventory")),
		payments:  payment.NewStore(rdb, redislua.NewKeyspace(prefix, "payment")),
		servers:   map[string]*httptest.Server{},
	}
	register := map[string]func(r *servicehttp.Router){
		api.PartOrder:       func(r *servicehttp.Router) { order.Register(r, s.orders) },
		api.PartReservation: func(r *servicehttp.Router) { inventory.Register(r, s.inventory) },
		api.PartPayment:     func(r *servicehttp.Router) { payment.Register(r, s.payments) },
	}
	for part, reg := range register {
		r := servicehttp.NewRouter(serviceToken, quiet)
		reg(r)
		var h http.Handler = r
		if w := wrap[part]; w != nil {
			h = w(h)
		}
		s.servers[part] = httptest.NewServer(h)
		t.Cleanup(s.servers[part].Close)
	}
	cfg := func(part string) servicehttp.ClientConfig {
		return servicehttp.ClientConfig{BaseURL: s.servers[part].URL, Token: serviceToken,
			Timeout: 500 * time.Millisecond, BreakerFailures: 3, BreakerOpen: time.Hour}
	}
	orders, err := order.NewClient(cfg(api.PartOrder), quiet)
	require.NoError(t, err)
	inv, err := inventory.NewClient(cfg(api.PartReservation), quiet)
	require.NoError(t, err)
	pays, err := payment.NewClient(cfg(api.PartPayment), quiet)
	require.NoError(t, err)
	s.sagas = &fakeSagas{owners: map[string]string{"o1": "anonymous", "o2": "anonymous"}}
	s.gateway = api.New(api.Config{}, api.Deps{Sagas: s.sagas, Stock: inv, Orders: orders, Reservations: inv, Payments: pays,
		Timeline: fakeTimeline{}, Log: quiet})
	s.placeOrders(t)
	return s
}

// placeOrders records o1 through its charge, and o2 up to its reservation.
func (s *services) placeOrders(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	_, err := s.inventory.Put(ctx, "widget", 10, 2500)
	require.NoError(t, err)
	for _, id := range []string{"o1", "o2"} {
		items := []ordersaga.Item{{SKU: "widget", Quantity: 2}}
		require.NoError(t, s.orders.Create(ctx, "order-"+id+"/create_order", ordersaga.Order{ID: id, CustomerID: "c1", Items: items}))
		_, err := s.inventory.Reserve(ctx, "order-"+id+"/reserve_inventory", id, items)
		require.NoError(t, err)
	}
	require.NoError(t, s.payments.RecordCharge(ctx, "order-o1/charge_payment", "o1", "ch_1", 5000))
}

func (s *services) view(t *testing.T, id string) api.OrderView {
	t.Helper()
	rec, _ := send(t, s.gateway, "GET", "/v1/orders/"+id, "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var v api.OrderView
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
	return v
}

func TestOrderViewComposesEveryPart(t *testing.T) {
	t.Parallel()
	s := newServices(t, nil)
	v := s.view(t, "o1")
	require.Equal(t, "o1", v.OrderID, "the saga's state")
	require.Equal(t, ordersaga.OrderPending, v.Order.Status)
	require.Equal(t, "reserved", v.Reservation.State)
	require.EqualValues(t, 5000, v.Reservation.TotalCents)
	require.Equal(t, ordersaga.Payment{OrderID: "o1", State: "charged", ChargeID: "ch_1", AmountCents: 5000}, *v.Payment)
	require.Empty(t, v.Unavailable)

	// A part that does not exist yet is null, not unavailable.
	rec, _ := send(t, s.gateway, "GET", "/v1/orders/o2", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	require.Contains(t, raw, "payment")
	require.Nil(t, raw["payment"])
	require.NotContains(t, raw, "unavailable")
	require.NotNil(t, raw["reservation"])
}

// TestOrderViewSurvivesEachServiceStopped: with any one service down, the
// view is a 200 with the other parts and the missing one named.
func TestOrderViewSurvivesEachServiceStopped(t *testing.T) {
	t.Parallel()
	for _, part := range []string{api.PartOrder, api.PartReservation, api.PartPayment} {
		t.Run(part, func(t *testing.T) {
			t.Parallel()
			s := newServices(t, nil)
			s.servers[part].Close()
			v := s.view(t, "o1")
			service := map[string]string{api.PartOrder: "order", api.PartReservation: "inventory", api.PartPayment: "payment"}[part]
			require.Equal(t, []api.UnavailablePart{{Part: part, Reason: service + " service unavailable: connection failed"}}, v.Unavailable)
			require.Equal(t, "o1", v.OrderID)
			require.Equal(t, part == api.PartOrder, v.Order == nil)
			require.Equal(t, part == api.PartReservation, v.Reservation == nil)
			require.Equal(t, part == api.PartPayment, v.Payment == nil)
		})
	}
}

// TestOpenBreakerFailsFast: a failing payment service trips its breaker;
// then the view names the open circuit and the service sees no more calls.
func TestOpenBreakerFailsFast(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	failing := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	}
	s := newServices(t, map[string]func(http.Handler) http.Handler{api.PartPayment: failing})
	v := s.view(t, "o1") // two attempts
	require.Equal(t, "payment service unavailable: answered 503", v.Unavailable[0].Reason)
	s.view(t, "o1") // the third attempt opens the circuit
	require.EqualValues(t, 3, hits.Load())
	for range 5 {
		v = s.view(t, "o1")
		require.Equal(t, []api.UnavailablePart{{Part: api.PartPayment, Reason: "payment service unavailable: circuit open"}}, v.Unavailable)
		require.NotNil(t, v.Order)
		require.NotNil(t, v.Reservation)
	}
	require.EqualValues(t, 3, hits.Load(), "the open circuit keeps the gateway off the failing service")
}

func TestOrderViewNeedsTheSaga(t *testing.T) {
	t.Parallel()
	s := newServices(t, nil)
	rec, p := send(t, s.gateway, "GET", "/v1/orders/o9", "")
	require.Equal(t, http.StatusNotFound, rec.Code, "only the saga is required: %s", rec.Body.String())
	require.Equal(t, "order not found", p.Detail)
}

// TestStockGoesThroughTheInventoryService: the public inventory endpoints
// call the service; with it down they answer 503.
func TestStockGoesThroughTheInventoryService(t *testing.T) {
	t.Parallel()
	s := newServices(t, nil)
	rec, _ := send(t, s.gateway, "PUT", "/v1/inventory/gadget", `{"available":7,"price_cents":900}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	st, err := s.inventory.Get(context.Background(), "gadget")
	require.NoError(t, err)
	require.EqualValues(t, 7, st.Available, "the inventory service stored it")
	rec, _ = send(t, s.gateway, "GET", "/v1/inventory/gadget", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"sku":"gadget","available":7,"reserved":0,"committed":0,"price_cents":900}`, rec.Body.String())
	rec, _ = send(t, s.gateway, "GET", "/v1/inventory/nope", "")
	require.Equal(t, http.StatusNotFound, rec.Code)

	s.servers[api.PartReservation].Close()
	for _, req := range [][3]string{{"GET", "/v1/inventory/gadget", ""}, {"PUT", "/v1/inventory/gadget", `{"available":1,"price_cents":1}`}} {
		rec, p := send(t, s.gateway, req[0], req[1], req[2])
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
		require.Equal(t, "1", rec.Header().Get("Retry-After"))
		require.Equal(t, "inventory service unavailable: connection failed", p.Detail)
	}
}

// TestFinishedOrderPartsAreKept: a finished order's parts are read from the
// services once more after its end was seen, then answered from memory;
// a running order's parts, and a partial view, are never kept, and a saga
// that runs again (an operator's reset) is read from the services again.
func TestFinishedOrderPartsAreKept(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	var paymentDown atomic.Bool
	counting := func(part string) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if part == api.PartPayment && paymentDown.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
	}
	s := newServices(t, map[string]func(http.Handler) http.Handler{
		api.PartOrder: counting(api.PartOrder), api.PartReservation: counting(api.PartReservation),
		api.PartPayment: counting(api.PartPayment)})
	read := func(id string, wantHits int64) api.OrderView {
		t.Helper()
		before := hits.Load()
		v := s.view(t, id)
		require.Equal(t, wantHits, hits.Load()-before, "service calls for %s", id)
		return v
	}

	for range 3 {
		read("o2", 3) // running: always read from the services
	}
	s.sagas.setStatus("o1", workflows.StatusCompleted)
	read("o1", 3) // its end is seen
	paymentDown.Store(true)
	v := read("o1", 4) // a partial view (the payment tried twice) ...
	require.Equal(t, api.PartPayment, v.Unavailable[0].Part)
	paymentDown.Store(false)
	full := read("o1", 3) // ... is not kept
	require.Empty(t, full.Unavailable)
	for range 3 {
		v := read("o1", 0)
		require.Equal(t, full, v, "answered from memory")
	}
	require.NoError(t, s.payments.RecordRefund(context.Background(), "order-o1/charge_payment", "o1"))
	s.sagas.setStatus("o1", workflows.StatusRunning) // reset: a new run
	v = read("o1", 3)
	require.Equal(t, "refunded", v.Payment.State, "a saga running again is read from the services")
	s.sagas.setStatus("o1", workflows.StatusCompensated)
	read("o1", 3)
	read("o1", 3)
	read("o1", 0)
	// Another run that ended otherwise, seen without a running state in
	// between (the saga client keeps a finished state for a while): its
	// parts are read again.
	s.sagas.setStatus("o1", workflows.StatusCompleted)
	read("o1", 3)
	read("o1", 3)
	read("o1", 0)
}
