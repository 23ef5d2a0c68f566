package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/contract"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/workflows"
)

// fakeSagas stands in for Temporal: it records started sagas and who owns
// them, and applies updates once per update ID. The real one is covered
// end to end in cmd/ordersaga.
type fakeSagas struct {
	mu      sync.Mutex
	started []workflows.Input
	// owners maps known order IDs to the client that placed them.
	owners map[string]string
	// updates records the updates applied, by update ID (or a sequence
	// number when none was given).
	updates map[string]sentUpdate
	seq     int
	err     error
	// listed records the List requests (list_test.go).
	listed []listRequest
	// statuses overrides the status State answers (RUNNING otherwise).
	statuses map[string]workflows.Status
}

type sentUpdate struct {
	OrderID, Name string
	Args          []any
}

func (f *fakeSagas) Start(_ context.Context, in workflows.Input) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, in)
	if f.err == nil {
		if f.owners == nil {
			f.owners = map[string]string{}
		}
		f.owners[in.OrderID] = in.ClientID
	}
	return f.err
}

func (f *fakeSagas) State(_ context.Context, id string) (workflows.State, error) {
	owner, err := f.Owner(context.Background(), id)
	if err != nil {
		return workflows.State{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	status, ok := f.statuses[id]
	if !ok {
		status = workflows.StatusRunning
	}
	st := workflows.State{OrderID: id, ClientID: owner}
	st.Status = status
	return st, nil
}

// setStatus makes State answer status for id.
func (f *fakeSagas) setStatus(id string, status workflows.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statuses == nil {
		f.statuses = map[string]workflows.Status{}
	}
	f.statuses[id] = status
}

func (f *fakeSagas) Owner(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	owner, ok := f.owners[id]
	if !ok {
		return "", ordersaga.Errorf(ordersaga.ENOTFOUND, "order not found")
	}
	return owner, nil
}

// Update refuses a cancel (as after the pivot) and applies anything else.
func (f *fakeSagas) Update(_ context.Context, id, updateID, name string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == workflows.UpdateCancel {
		return ordersaga.Errorf(ordersaga.ECONFLICT, "payment has started: the order can no longer be cancelled")
	}
	if f.err != nil {
		return f.err
	}
	if updateID == "" {
		f.seq++
		updateID = fmt.Sprint(f.seq)
	}
	if f.updates == nil {
		f.updates = map[string]sentUpdate{}
	}
	if _, dup := f.updates[updateID]; !dup {
		f.updates[updateID] = sentUpdate{OrderID: id, Name: name, Args: args}
	}
	return nil
}

// applied returns the updates applied.
func (f *fakeSagas) applied() []sentUpdate {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sentUpdate
	for _, u := range f.updates {
		out = append(out, u)
	}
	return out
}

type fakeTimeline struct{}

func (fakeTimeline) Events(context.Context, string) ([]events.Event, error) { return nil, nil }

type fakeStock struct{}

func (fakeStock) Get(_ context.Context, sku string) (ordersaga.Stock, error) {
	return ordersaga.Stock{}, &ordersaga.Error{Code: ordersaga.ENOTFOUND, Message: "sku not found", Err: ordersaga.ErrUnknownSKU}
}
func (fakeStock) Put(_ context.Context, sku string, a, p int64) (ordersaga.Stock, error) {
	return ordersaga.Stock{SKU: sku, Available: a, PriceCents: p}, nil
}

// noParts stands in for the services whose records make up an order's
// view: none has a record yet. The real ones are covered in gateway_test.go.
type noParts struct{}

func (noParts) Order(context.Context, string) (ordersaga.Order, error) {
	return ordersaga.Order{}, ordersaga.Errorf(ordersaga.ENOTFOUND, "no order")
}
func (noParts) Reservation(context.Context, string) (ordersaga.Reservation, error) {
	return ordersaga.Reservation{}, ordersaga.Errorf(ordersaga.ENOTFOUND, "no reservation")
}
func (noParts) Payment(context.Context, string) (ordersaga.Payment, error) {
	return ordersaga.Payment{}, ordersaga.Errorf(ordersaga.ENOTFOUND, "no payment")
}

func newAPI(sagas *fakeSagas) http.Handler {
	return api.New(api.Config{MaxBodyBytes: 1024}, api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// send serves one request with h and checks the exchange against the
// API's OpenAPI contract (a breach fails t).
func send(t testing.TB, h http.Handler, method, path, body string, header ...string) (*httptest.ResponseRecorder, api.Problem) {
	t.Helper()
	rec, ex, p := serve(h, method, path, body, header...)
	if err := checker.Check(context.Background(), ex); err != nil {
		t.Error(err)
	}
	return rec, p
}

// serve serves one JSON request (header: name, value, …) with h.
func serve(h http.Handler, method, path, body string, header ...string) (*httptest.ResponseRecorder, contract.Exchange, api.Problem) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	sent := req.Clone(context.Background())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	ex := contract.Exchange{Request: sent, RequestBody: []byte(body), Status: rec.Code, Header: rec.Result().Header, Body: rec.Body.Bytes()}
	var p api.Problem
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	return rec, ex, p
}

// checker holds the API's OpenAPI contract.
var checker = func() *contract.Checker {
	c, err := contract.New()
	if err != nil {
		panic(err)
	}
	return c
}()

const validOrder = `{"customer_id":"c-1","items":[{"sku":"widget","quantity":2}],"payment_token":"tok_ok"}`

func TestCreateOrderAccepted(t *testing.T) {
	sagas := &fakeSagas{}
	rec, _ := send(t, newAPI(sagas), "POST", "/v1/orders", validOrder)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	var out api.OrderAccepted
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.Equal(t, "/v1/orders/"+out.OrderID, rec.Header().Get("Location"))
	require.Equal(t, workflows.WorkflowID(out.OrderID), out.WorkflowID)
	require.Len(t, sagas.started, 1)
	require.Equal(t, []ordersaga.Item{{SKU: "widget", Quantity: 2}}, sagas.started[0].Items)
}

func TestBadRequestsAreProblemsNamingTheField(t *testing.T) {
	long := strings.Repeat("x", 65)
	tests := map[string]struct {
		method, path, body string
		status             int
		field              string
	}{
		"empty body":          {"POST", "/v1/orders", ``, 400, ""},
		"not json":            {"POST", "/v1/orders", `{"customer_id":`, 400, ""},
		"unknown field":       {"POST", "/v1/orders", `{"customer_id":"c","items":[{"sku":"a","quantity":1}],"payment_token":"t","coupon":"x"}`, 400, "coupon"},
		"two values":          {"POST", "/v1/orders", validOrder + validOrder, 400, ""},
		"field in other case": {"POST", "/v1/orders", strings.Replace(validOrder, "customer_id", "Customer_ID", 1), 400, "Customer_ID"},
		"nested other case":   {"POST", "/v1/orders", strings.Replace(validOrder, `"sku"`, `"SKU"`, 1), 400, "SKU"},
		"wrong type":          {"POST", "/v1/orders", `{"customer_id":"c","items":[{"sku":"a","quantity":"1"}],"payment_token":"t"}`, 400, "items.quantity"},
		"missing customer":    {"POST", "/v1/orders", `{"items":[{"sku":"a","quantity":1}],"payment_token":"t"}`, 400, "customer_id"},
		"customer too long":   {"POST", "/v1/orders", `{"customer_id":"` + long + `","items":[{"sku":"a","quantity":1}],"payment_token":"t"}`, 400, "customer_id"},
		"bad sku chars":       {"POST", "/v1/orders", `{"customer_id":"c","items":[{"sku":"a b","quantity":1}],"payment_token":"t"}`, 400, "items[0].sku"},
		"zero quantity":       {"POST", "/v1/orders", `{"customer_id":"c","items":[{"sku":"a","quantity":0}],"payment_token":"t"}`, 400, "items[0].quantity"},
		"huge quantity":       {"POST", "/v1/orders", `{"customer_id":"c","items":[{"sku":"a","quantity":10001}],"payment_token":"t"}`, 400, "items[0].quantity"},
		"no items":            {"POST", "/v1/orders", `{"customer_id":"c","items":[],"payment_token":"t"}`, 400, "items"},
		"no token":            {"POST", "/v1/orders", `{"customer_id":"c","items":[{"sku":"a","quantity":1}]}`, 400, "payment_token"},
		"too large":           {"POST", "/v1/orders", `{"customer_id":"` + strings.Repeat("x", 2000) + `"}`, 413, ""},
		"stock missing field": {"PUT", "/v1/inventory/a", `{"available":1}`, 400, "price_cents"},
		"negative stock":      {"PUT", "/v1/inventory/a", `{"available":-1,"price_cents":1}`, 400, "available"},
		"bad path id":         {"GET", "/v1/orders/" + long, ``, 400, "id"},
		"unknown route":       {"GET", "/v2/orders", ``, 404, ""},
		"wrong method":        {"DELETE", "/v1/orders", ``, 405, ""},
		"unknown order":       {"GET", "/v1/orders/nope", ``, 404, ""},
		"unknown sku":         {"GET", "/v1/inventory/nope", ``, 404, ""},
		"cancel after pivot":  {"POST", "/v1/orders/o1/cancel", ``, 409, ""},
	}
	h := newAPI(&fakeSagas{owners: map[string]string{"o1": "anonymous"}})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec, p := send(t, h, tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			require.Equal(t, tc.status, p.Status)
			require.NotEmpty(t, p.Detail)
			require.Equal(t, tc.field, p.Field)
		})
	}
}

func TestAllInvalidFieldsAreListed(t *testing.T) {
	_, p := send(t, newAPI(&fakeSagas{}), "POST", "/v1/orders", `{"customer_id":"","items":[{"sku":"","quantity":0}],"payment_token":""}`)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	require.Equal(t, []string{"customer_id", "items[0].sku", "items[0].quantity", "payment_token"}, fields)
}

func TestWrongContentTypeIs415(t *testing.T) {
	rec, _ := send(t, newAPI(&fakeSagas{}), "POST", "/v1/orders", validOrder, "Content-Type", "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
}

func TestUnavailableDependencyIs503WithRetryAfter(t *testing.T) {
	sagas := &fakeSagas{err: &ordersaga.Error{Code: ordersaga.EUNAVAILABLE, Message: "temporal is unavailable"}}
	rec, p := send(t, newAPI(sagas), "POST", "/v1/orders", validOrder)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Equal(t, "temporal is unavailable", p.Detail)
}

func TestInternalErrorsHideDetails(t *testing.T) {
	sagas := &fakeSagas{err: io.ErrUnexpectedEOF}
	rec, p := send(t, newAPI(sagas), "POST", "/v1/orders", validOrder)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Equal(t, "internal error", p.Detail)
}

func TestPutStock(t *testing.T) {
	rec, _ := send(t, newAPI(&fakeSagas{}), "PUT", "/v1/inventory/widget", `{"available":5,"price_cents":250}`)
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"sku":"widget","available":5,"reserved":0,"committed":0,"price_cents":250}`, rec.Body.String())
}

// TestTrailingSlashIsNotARoute: a path with a trailing slash answers a 404
// problem carrying the request ID, not a redirect.
func TestTrailingSlashIsNotARoute(t *testing.T) {
	t.Parallel()
	h := newAPI(&fakeSagas{})
	for _, path := range []string{"/v1/orders/", "/docs/"} {
		rec, p := send(t, h, "GET", path, "")
		require.Equal(t, http.StatusNotFound, rec.Code, path)
		require.Equal(t, "no such route", p.Detail)
		require.NotEmpty(t, rec.Header().Get(api.RequestIDHeader))
	}
}

// TestCancelTakesAnEmptyChunkedBody: the cancel body is optional, and an
// empty one sent chunked (no Content-Length) is no body.
func TestCancelTakesAnEmptyChunkedBody(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{owners: map[string]string{"o1": "anonymous"}}
	h := newAPI(sagas)
	for _, body := range []string{"", `{"reason":"changed my mind"}`} {
		req := httptest.NewRequest("POST", "/v1/orders/o1/cancel", strings.NewReader(body))
		req.ContentLength = -1 // chunked
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusConflict, rec.Code, "the fake refuses every cancel after reading it: %s", rec.Body.String())
	}
}

// TestReasonsAreCountedInCharacters: a reason's bound is 500 characters,
// as the schema counts them, not bytes.
func TestReasonsAreCountedInCharacters(t *testing.T) {
	t.Parallel()
	h := api.New(api.Config{}, api.Deps{Sagas: &fakeSagas{owners: map[string]string{"o1": "anonymous"}}, Stock: fakeStock{},
		Orders: noParts{}, Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}) // the default 64 KiB body bound
	euros := func(n int) string { return `{"reason":"` + strings.Repeat("€", n) + `"}` } // 3 bytes each
	rec, _ := send(t, h, "POST", "/v1/orders/o1/compensations/charge_payment/resolve", euros(500))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	rec, p := send(t, h, "POST", "/v1/orders/o1/compensations/charge_payment/resolve", euros(501))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, "reason", p.Field)
	rec, p = send(t, h, "POST", "/v1/orders/o1/cancel", euros(501))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Equal(t, "reason", p.Field)
}
