package strangler_test

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/strangler"
)

const legacyRoutes = `
routes:
  - prefix: /legacy/
    to: legacy
  - prefix: /legacy/sso/
    to: legacy
    auth: passthrough
`

// TestLegacyRouteReachesTheMonolithUnchanged ensures method, path, query,
// body and end-to-end headers reach the monolith as sent, hop-by-hop
// headers and the client's key do not, the principal is named in the
// trusted header (the client's own is replaced), the forwarding and trace
// headers are added, and the monolith's 4xx, headers and body come back
// unchanged.
func TestLegacyRouteReachesTheMonolithUnchanged(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Legacy", "yes")
		w.Header().Set("Content-Type", "application/vnd.legacy+json")
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`{"error":"the monolith's own words"}`))
	})
	g := newGateway(t, legacyRoutes, m.URL, strangler.Config{}, nil)

	resp, body := g.do(t, "POST", "/legacy/things/42?b=2&a=1", `{"x":1}`,
		"Authorization", "Bearer "+aliceKey, "X-Custom", "kept", "Connection", "X-Hop", "X-Hop", "dropped",
		strangler.DefaultPrincipalHeader, "admin", "X-Forwarded-For", "6.6.6.6", "Content-Type", "application/json")
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Equal(t, `{"error":"the monolith's own words"}`, body)
	require.Equal(t, "yes", resp.Header.Get("X-Legacy"))
	require.Equal(t, "application/vnd.legacy+json", resp.Header.Get("Content-Type"))

	got, gotBody := m.last(t)
	require.Equal(t, "POST", got.Method)
	require.Equal(t, "/legacy/things/42", got.URL.Path)
	require.Equal(t, "b=2&a=1", got.URL.RawQuery)
	require.Equal(t, `{"x":1}`, gotBody)
	require.Equal(t, "kept", got.Header.Get("X-Custom"))
	require.Empty(t, got.Header.Get("X-Hop"), "a hop-by-hop header named by Connection is dropped")
	require.Empty(t, got.Header.Get("Authorization"), "the gateway's key is not the monolith's business")
	require.Equal(t, "alice", got.Header.Get(strangler.DefaultPrincipalHeader))
	require.Equal(t, "127.0.0.1", got.Header.Get("X-Forwarded-For"), "a client's X-Forwarded-For is not trusted")
	require.Equal(t, "http", got.Header.Get("X-Forwarded-Proto"))
	require.Equal(t, resp.Header.Get(api.RequestIDHeader), got.Header.Get("X-Request-ID"))
	require.Regexp(t, regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`), got.Header.Get("traceparent"))

	require.Equal(t, 1.0, testutil.ToFloat64(g.reqs.Requests.WithLabelValues("/legacy/", "legacy", "POST", "409")))
	lines := g.logLines(t, "request")
	require.Equal(t, "legacy", lines[len(lines)-1]["upstream"])
	require.Equal(t, "alice", lines[len(lines)-1]["client"])
}

// TestLegacyRouteNeedsAKeyByDefault ensures a gateway-authenticated route
// refuses a request without a valid key, and the monolith never sees it.
func TestLegacyRouteNeedsAKeyByDefault(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) {})
	g := newGateway(t, legacyRoutes, m.URL, strangler.Config{}, nil)
	for _, auth := range []string{"", "Bearer not-a-key-0123456789", "Basic YWxpY2U6cHc="} {
		resp, body := g.do(t, "GET", "/legacy/x", "", "Authorization", auth)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, auth)
		require.Equal(t, "unauthorized", problem(t, resp, body)["code"])
	}
	require.Zero(t, m.count())
}

// TestPassthroughRouteLeavesAuthenticationToTheMonolith ensures a
// passthrough route sends the client's Authorization as is, checks no key,
// and still strips a principal header the client sent.
func TestPassthroughRouteLeavesAuthenticationToTheMonolith(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Basic YWxpY2U6cHc=" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	g := newGateway(t, legacyRoutes, m.URL, strangler.Config{}, nil)
	resp, _ := g.do(t, "GET", "/legacy/sso/login", "", "Authorization", "Basic YWxpY2U6cHc=", strangler.DefaultPrincipalHeader, "admin")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	got, _ := m.last(t)
	require.Empty(t, got.Header.Get(strangler.DefaultPrincipalHeader))
	resp, _ = g.do(t, "GET", "/legacy/sso/login", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the monolith's own refusal")
}

// TestPathsNoRouteMatchesAreOrdersagas ensures an unmatched path and the
// gateway's own endpoints are answered by ordersaga even under a catch-all
// legacy route, and a path with dot segments never reaches the monolith.
func TestPathsNoRouteMatchesAreOrdersagas(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) {})
	g := newGateway(t, "routes:\n  - prefix: /v1/inventory/\n    to: ordersaga\n  - prefix: /\n    to: legacy\n", m.URL, strangler.Config{}, nil)
	resp, body := g.do(t, "GET", "/v1/inventory/widget", "", "Authorization", "Bearer "+aliceKey)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, `"available":7`)
	resp, _ = g.do(t, "GET", "/healthz", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Zero(t, m.count())

	resp, body = g.do(t, "GET", "/anything/../admin", "", "Authorization", "Bearer "+aliceKey)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, strangler.CodePathNotClean, problem(t, resp, body)["code"])
	require.Zero(t, m.count())
}

// TestMonolithDownIsAProblemAndOrdersagaKeepsAnswering ensures a monolith
// that refuses connections gets 502 legacy_unavailable at once, then, the
// circuit open, 503 legacy_circuit_open with Retry-After without trying
// it, while ordersaga's own routes answer; and the circuit closes once it
// is back.
func TestMonolithDownIsAProblemAndOrdersagaKeepsAnswering(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	g := newGateway(t, legacyRoutes, down, strangler.Config{BreakerFailures: 2, BreakerOpen: 300 * time.Millisecond}, nil)
	key := []string{"Authorization", "Bearer " + aliceKey}

	for range 2 {
		start := time.Now()
		resp, body := g.do(t, "GET", "/legacy/x", "", key...)
		require.Equal(t, http.StatusBadGateway, resp.StatusCode)
		p := problem(t, resp, body)
		require.Equal(t, strangler.CodeLegacyUnavailable, p["code"])
		require.Equal(t, resp.Header.Get(api.RequestIDHeader), p["request_id"])
		require.NotContains(t, body, l.Addr().String(), "the monolith's address is not told to clients")
		require.Less(t, time.Since(start), 2*time.Second)
	}
	resp, body := g.do(t, "GET", "/legacy/x", "", key...)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, strangler.CodeLegacyCircuitOpen, problem(t, resp, body)["code"])
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Equal(t, 1.0, testutil.ToFloat64(g.metrics.BreakerOpen))

	resp, _ = g.do(t, "GET", "/v1/inventory/widget", "", key...)
	require.Equal(t, http.StatusOK, resp.StatusCode, "ordersaga's routes do not depend on the monolith")

	// The monolith comes back on the same address: the trial call closes the circuit.
	back, err := net.Listen("tcp", l.Addr().String())
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("back")) })}
	go func() { _ = srv.Serve(back) }()
	t.Cleanup(func() { _ = srv.Close() })
	eventually(t, func() bool {
		resp, body := g.do(t, "GET", "/legacy/x", "", key...)
		return resp.StatusCode == http.StatusOK && body == "back"
	}, "the circuit closes when the monolith answers again")
	require.Equal(t, 0.0, testutil.ToFloat64(g.metrics.BreakerOpen))
}

// TestSlowMonolithTimesOut ensures a monolith that does not answer within
// the response timeout gets 504 legacy_timeout, within about that timeout.
func TestSlowMonolithTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	g := newGateway(t, legacyRoutes, m.URL, strangler.Config{ResponseTimeout: 200 * time.Millisecond}, nil)
	start := time.Now()
	resp, body := g.do(t, "GET", "/legacy/slow", "", "Authorization", "Bearer "+aliceKey)
	require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	require.Equal(t, strangler.CodeLegacyTimeout, problem(t, resp, body)["code"])
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, 1.0, testutil.ToFloat64(g.metrics.LegacyFailures.WithLabelValues(strangler.CodeLegacyTimeout)))
}

// TestClientLimitsApplyToProxiedRoutes ensures a client's rate limit
// counts its requests to the monolith: past the burst, 429 and the
// monolith is not called; another client's quota is its own.
func TestClientLimitsApplyToProxiedRoutes(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) {})
	g := newGateway(t, legacyRoutes, m.URL, strangler.Config{}, &api.RateLimits{ReadsPerSecond: 0.1, ReadsBurst: 2, ListCost: 1})
	for i := range 3 {
		resp, _ := g.do(t, "GET", "/legacy/x", "", "Authorization", "Bearer "+aliceKey)
		if i < 2 {
			require.Equal(t, http.StatusOK, resp.StatusCode)
			continue
		}
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
	}
	require.Equal(t, 2, m.count())
	resp, _ := g.do(t, "GET", "/legacy/x", "", "Authorization", "Bearer "+bobKey)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestAnswerCutOffMidwayIsNotPassedAsWhole ensures that when the monolith
// breaks off an answer after its headers, the client's connection is
// dropped: it cannot take the truncated body for the whole.
func TestAnswerCutOffMidwayIsNotPassedAsWhole(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("first part"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	g := newGateway(t, legacyRoutes, m.URL, strangler.Config{}, nil)
	req, err := http.NewRequest("GET", g.URL+"/legacy/big", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+aliceKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	require.Error(t, err, "a cut-off answer is an error, not a short body")
	require.Empty(t, g.logLines(t, "panic serving request"))
}
