package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
)

// logLines returns the JSON log lines of logs whose msg is msg.
func logLines(t *testing.T, logs *bytes.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// observedAPI returns the API with its request metrics, logging as JSON
// into a buffer (requests are served synchronously: no lock needed).
func observedAPI(t *testing.T) (http.Handler, *bytes.Buffer, *api.RequestMetrics) {
	t.Helper()
	logs := &bytes.Buffer{}
	m := api.NewRequestMetrics(prometheus.NewRegistry())
	h := api.New(api.Config{MaxBodyBytes: 1024}, api.Deps{Sagas: &fakeSagas{}, Stock: fakeStock{}, Timeline: fakeTimeline{},
		RequestMetrics: m, Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	return h, logs, m
}

// TestEachRequestLogsOneLine: method, route template, path, status,
// duration, request ID and the trace ID of the caller's traceparent.
func TestEachRequestLogsOneLine(t *testing.T) {
	t.Parallel()
	h, logs, _ := observedAPI(t)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	rec, _ := send(t, h, "GET", "/v1/orders/unknown-1", "", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01", api.RequestIDHeader, "req-1")
	require.Equal(t, http.StatusNotFound, rec.Code)

	lines := logLines(t, logs, "request")
	require.Len(t, lines, 1)
	l := lines[0]
	require.Equal(t, "GET", l["method"])
	require.Equal(t, "/v1/orders/:id", l["route"])
	require.Equal(t, "/v1/orders/unknown-1", l["path"])
	require.EqualValues(t, 404, l["status"])
	require.Contains(t, l, "duration")
	require.Equal(t, "req-1", l["request_id"])
	require.Equal(t, traceID, l["trace_id"])
	require.Equal(t, "anonymous", l["client"], "auth is off: everyone is anonymous")
	require.Equal(t, "INFO", l["level"])
}

// TestRequestIDIsHonouredOrMade: a well-formed X-Request-ID is kept,
// anything else replaced by a fresh one; either way it is echoed and is in
// the problem document.
func TestRequestIDIsHonouredOrMade(t *testing.T) {
	t.Parallel()
	h, _, _ := observedAPI(t)
	for name, tc := range map[string]struct {
		sent string
		kept bool
	}{
		"well-formed":   {"0197a7b2-4c3d-7e8f-9a0b-1c2d3e4f5a6b", true},
		"missing":       {"", false},
		"too long":      {strings.Repeat("a", 129), false},
		"bad character": {"id with spaces", false},
	} {
		t.Run(name, func(t *testing.T) {
			var header []string
			if tc.sent != "" {
				header = []string{api.RequestIDHeader, tc.sent}
			}
			rec, p := send(t, h, "GET", "/v1/orders/unknown-1", "", header...)
			got := rec.Header().Get(api.RequestIDHeader)
			require.True(t, api.RequestIDPattern.MatchString(got), got)
			if tc.kept {
				require.Equal(t, tc.sent, got)
			} else {
				require.NotEqual(t, tc.sent, got)
			}
			require.Equal(t, got, p.RequestID, "the problem names the request")
		})
	}
}

// TestRequestsAreCountedByRouteMethodStatus: the route is the template (no
// order IDs), an unknown route is "unmatched", a made-up method "other";
// probes count too but log at debug level.
func TestRequestsAreCountedByRouteMethodStatus(t *testing.T) {
	t.Parallel()
	h, logs, m := observedAPI(t)
	send(t, h, "GET", "/v1/orders/a-1", "")
	send(t, h, "GET", "/v1/orders/b-2", "")
	send(t, h, "GET", "/nowhere", "")
	send(t, h, "BREW", "/v1/orders/a-1", "")
	send(t, h, "GET", "/healthz", "")

	require.Equal(t, 2.0, testutil.ToFloat64(m.Requests.WithLabelValues("/v1/orders/:id", "ordersaga", "GET", "404")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Requests.WithLabelValues("unmatched", "ordersaga", "GET", "404")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Requests.WithLabelValues("unmatched", "ordersaga", "other", "405")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.Requests.WithLabelValues("/healthz", "ordersaga", "GET", "200")))
	require.Equal(t, 4, testutil.CollectAndCount(m.Requests), "no series per order")
	require.Equal(t, 4, testutil.CollectAndCount(m.Duration))

	lines := logLines(t, logs, "request")
	require.Len(t, lines, 5)
	require.Equal(t, "DEBUG", lines[4]["level"], "a passing probe logs at debug level")
}

// TestLoggedPathIsBounded: a client chooses the path's length; the request
// line keeps at most 256 bytes of it.
func TestLoggedPathIsBounded(t *testing.T) {
	t.Parallel()
	h, logs, _ := observedAPI(t)
	rec, _ := send(t, h, "GET", "/no/such/"+strings.Repeat("é", 5000), "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	lines := logLines(t, logs, "request")
	require.Len(t, lines, 1)
	path := lines[0]["path"].(string)
	require.LessOrEqual(t, len(path), 256+len("…"))
	require.True(t, strings.HasPrefix(path, "/no/such/é"))
	require.True(t, strings.HasSuffix(path, "é…"), "cut on a character boundary: %q", path[len(path)-8:])
}
