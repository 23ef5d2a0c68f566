package inventory_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/services/inventory"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const token = "service-token-0123456789"

// serve runs the inventory service's API on inv, behind token, and
// returns its URL.
func serve(t *testing.T, inv *inventory.Store) string {
	t.Helper()
	r := servicehttp.NewRouter(token, quiet)
	inventory.Register(r, inv)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// send sends a request with the token (unless noToken) and returns the
// status, the content type and the JSON body.
func send(t *testing.T, method, url, body string, noToken bool) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if !noToken {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

func TestStockAPI(t *testing.T) {
	t.Parallel()
	url := serve(t, newInventory(t))
	code, ct, body := send(t, "PUT", url+"/stock/widget", `{"available":5,"price_cents":250}`, false)
	require.Equal(t, 200, code, "%v", body)
	require.Equal(t, "application/json", ct)
	require.Equal(t, map[string]any{"sku": "widget", "available": 5.0, "reserved": 0.0, "committed": 0.0, "price_cents": 250.0}, body)
	code, _, body = send(t, "GET", url+"/stock/widget", "", false)
	require.Equal(t, 200, code)
	require.EqualValues(t, 5, body["available"])

	tests := map[string]struct {
		method, path, body string
		noToken            bool
		status             int
		field              string
	}{
		"unknown sku":      {"GET", "/stock/nope", "", false, 404, ""},
		"no token":         {"GET", "/stock/widget", "", true, 401, ""},
		"no token, write":  {"PUT", "/stock/widget", `{"available":1,"price_cents":1}`, true, 401, ""},
		"bad sku":          {"PUT", "/stock/a%20b", `{"available":1,"price_cents":1}`, false, 400, "sku"},
		"missing price":    {"PUT", "/stock/widget", `{"available":1}`, false, 400, "price_cents"},
		"negative units":   {"PUT", "/stock/widget", `{"available":-1,"price_cents":1}`, false, 400, "available"},
		"too many units":   {"PUT", "/stock/widget", `{"available":1000000001,"price_cents":1}`, false, 400, "available"},
		"unknown field":    {"PUT", "/stock/widget", `{"available":1,"price_cents":1,"color":"red"}`, false, 400, "color"},
		"not json":         {"PUT", "/stock/widget", `{"available":`, false, 400, ""},
		"wrong method":     {"DELETE", "/stock/widget", "", false, 405, ""},
		"unknown route":    {"GET", "/stocks", "", false, 404, ""},
		"bad order id":     {"GET", "/reservations/" + strings.Repeat("x", 65), "", false, 400, "order_id"},
		"no reservation":   {"GET", "/reservations/o-none", "", false, 404, ""},
		"reservation, 401": {"GET", "/reservations/o-none", "", true, 401, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, ct, p := send(t, tc.method, url+tc.path, tc.body, tc.noToken)
			require.Equal(t, tc.status, code, "%v", p)
			require.Equal(t, servicehttp.ProblemType, ct)
			require.EqualValues(t, tc.status, p["status"])
			require.NotEmpty(t, p["detail"])
			field, _ := p["field"].(string)
			require.Equal(t, tc.field, field)
		})
	}
	_, _, body = send(t, "GET", url+"/stock/widget", "", false)
	require.EqualValues(t, 5, body["available"], "no refused write changed the stock")
}

// TestReservationsAreFoundByOrder: the reserve script indexes the
// reservation by its order; the API follows it through commit and release.
func TestReservationsAreFoundByOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inv := newInventory(t)
	c, err := inventory.NewClient(servicehttp.ClientConfig{BaseURL: serve(t, inv), Token: token}, quiet)
	require.NoError(t, err)
	_, err = c.Put(ctx, "a", 10, 300)
	require.NoError(t, err)

	_, err = c.Reservation(ctx, "o1")
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err), "none before the reserve step")
	_, err = inv.Reserve(ctx, "order-o1/reserve_inventory", "o1", []ordersaga.Item{{SKU: "a", Quantity: 2}})
	require.NoError(t, err)
	r, err := c.Reservation(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, ordersaga.Reservation{OrderID: "o1", State: "reserved", TotalCents: 600,
		Lines: []ordersaga.Line{{SKU: "a", Quantity: 2, UnitPriceCents: 300}}}, r)
	require.NoError(t, inv.Commit(ctx, "order-o1/reserve_inventory"))
	r, err = c.Reservation(ctx, "o1")
	require.NoError(t, err)
	require.Equal(t, "committed", r.State)

	require.NoError(t, inv.Release(ctx, "order-o2/reserve_inventory"), "a null compensation")
	_, err = c.Reservation(ctx, "o2")
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err), "a null compensation reserved nothing")
	_, err = inv.Reserve(ctx, "order-o3/reserve_inventory", "o3", []ordersaga.Item{{SKU: "a", Quantity: 99}})
	require.ErrorIs(t, err, ordersaga.ErrOutOfStock)
	_, err = c.Reservation(ctx, "o3")
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err), "out of stock reserved nothing")
}

// TestClientCarriesTheServiceErrors: the gateway's client sees the
// service's own codes and fields.
func TestClientCarriesTheServiceErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := inventory.NewClient(servicehttp.ClientConfig{BaseURL: serve(t, newInventory(t)), Token: token}, quiet)
	require.NoError(t, err)
	st, err := c.Put(ctx, "b", 3, 100)
	require.NoError(t, err)
	require.Equal(t, ordersaga.Stock{SKU: "b", Available: 3, PriceCents: 100}, st)
	got, err := c.Get(ctx, "b")
	require.NoError(t, err)
	require.Equal(t, st, got)
	_, err = c.Get(ctx, "nope")
	require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(err))
	_, err = c.Put(ctx, "b", -1, 100)
	var e *ordersaga.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, ordersaga.EINVALID, e.Code)
	require.Equal(t, "available", e.Field)

	wrong, err := inventory.NewClient(servicehttp.ClientConfig{BaseURL: serve(t, newInventory(t)), Token: "not-the-token-0123"}, quiet)
	require.NoError(t, err)
	_, err = wrong.Get(ctx, "b")
	require.ErrorContains(t, err, "inventory service refused the caller's token")
}

// TestDotSKUsAnswer400 is finding 4: GET /stock/%2E%2E, /stock/. and a PUT
// of one answered 500 through the gateway (the router redirected to the
// cleaned path). Every spelling answers 400 naming the SKU, without a
// redirect; through the client too.
func TestDotSKUsAnswer400(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := serve(t, newInventory(t))
	for _, path := range []string{"/stock/.", "/stock/..", "/stock/%2E", "/stock/%2E%2E", "/stock/%2e%2e"} {
		for _, method := range []string{"GET", "PUT"} {
			code, ct, p := send(t, method, url+path, `{"available":1,"price_cents":1}`, false)
			require.Equal(t, 400, code, "%s %s: %v", method, path, p)
			require.Equal(t, servicehttp.ProblemType, ct)
			require.Equal(t, "sku", p["field"])
		}
	}
	c, err := inventory.NewClient(servicehttp.ClientConfig{BaseURL: url, Token: token}, quiet)
	require.NoError(t, err)
	for _, sku := range []string{".", ".."} {
		_, err = c.Get(ctx, sku)
		require.Equal(t, ordersaga.EINVALID, ordersaga.ErrorCode(err), "%v", err)
		_, err = c.Put(ctx, sku, 1, 1)
		require.Equal(t, ordersaga.EINVALID, ordersaga.ErrorCode(err), "%v", err)
	}
}
