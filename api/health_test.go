package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
)

// TestProbesAnswerAsDocumented: /readyz is 200 naming each check while all
// pass and a 503 problem (Retry-After) naming the failing one otherwise;
// /healthz and /metrics answer, all without a key.
func TestProbesAnswerAsDocumented(t *testing.T) {
	t.Parallel()
	var redisDown error
	reg := prometheus.NewRegistry()
	h := api.New(api.Config{Auth: scopedAuth}, api.Deps{Sagas: &fakeSagas{}, Stock: fakeStock{}, Orders: noParts{},
		Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{},
		Checks: []api.Check{
			{Name: "temporal", Fn: func(context.Context) error { return nil }},
			{Name: "redis", Fn: func(context.Context) error { return redisDown }},
		},
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), RequestMetrics: api.NewRequestMetrics(reg),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})

	rec, _ := send(t, h, "GET", "/readyz", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"status":"ready","checks":{"temporal":"ok","redis":"ok"}}`, rec.Body.String())

	redisDown = errors.New("dial tcp 10.0.0.5:6379: connection refused")
	rec, p := send(t, h, "GET", "/readyz", "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, map[string]string{"temporal": "ok", "redis": "failing"}, p.Checks, "named, not described: the port is public")
	require.Equal(t, "1", rec.Header().Get("Retry-After"))

	rec, _ = send(t, h, "GET", "/healthz", "")
	require.Equal(t, http.StatusOK, rec.Code)
	rec, _ = send(t, h, "GET", "/metrics", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "ordersaga_api_requests_total")
}
