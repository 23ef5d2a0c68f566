package sagaclient_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// TestTemporalDownIs503WithinTheRequestTimeout: with Temporal unreachable the
// API answers 503 with Retry-After, promptly, and never hangs.
func TestTemporalDownIs503WithinTheRequestTimeout(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()
	h := api.New(api.Config{RequestTimeout: 2 * time.Second}, api.Deps{
		Sagas: sagaclient.New(c), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, req := range []*http.Request{
		httptest.NewRequest("POST", "/v1/orders", strings.NewReader(`{"customer_id":"c","items":[{"sku":"a","quantity":1}],"payment_token":"tok_ok"}`)),
		httptest.NewRequest("GET", "/v1/orders/o1", nil),
		httptest.NewRequest("POST", "/v1/orders/o1/approve", nil),
	} {
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		require.Less(t, time.Since(start), 4*time.Second, req.URL.Path)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s: %s", req.URL.Path, rec.Body)
		require.Equal(t, "1", rec.Header().Get("Retry-After"))
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	}
}

// TestTemporalDownWithPreferWaitIs503: with Temporal unreachable an order
// placed with Prefer: wait answers 503 with Retry-After once its wait has
// run out and the saga is not known to exist — never 202, never a hang.
func TestTemporalDownWithPreferWaitIs503(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()
	h := api.New(api.Config{RequestTimeout: 2 * time.Second}, api.Deps{
		Sagas: sagaclient.New(c), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := httptest.NewRequest("POST", "/v1/orders", strings.NewReader(`{"customer_id":"c","items":[{"sku":"a","quantity":1}],"payment_token":"tok_ok"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "wait=1")
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Empty(t, rec.Header().Get("Location"))
}
