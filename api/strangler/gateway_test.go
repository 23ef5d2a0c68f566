package strangler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/ratelimit"
	"github.com/ordersaga/ordersaga/api/strangler"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// Keys of the gateway under test.
const (
	aliceKey = "alice-key-0123456789"
	bobKey   = "bob-key-0123456789ab"
)

// monolith is a real HTTP server standing for the monolith: it records
// each request it receives and answers with handle.
type monolith struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func newMonolith(t testing.TB, handle http.HandlerFunc) *monolith {
	m := &monolith{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.requests, m.bodies = append(m.requests, r), append(m.bodies, string(b))
		m.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(m.Close)
	return m
}

// last returns the last request the monolith received and its body.
func (m *monolith) last(t *testing.T) (*http.Request, string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	require.NotEmpty(t, m.requests, "the monolith received no request")
	return m.requests[len(m.requests)-1], m.bodies[len(m.bodies)-1]
}

func (m *monolith) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.requests)
}

// gateway is the API with a route table in front of a monolith, served on a
// real listener.
type gateway struct {
	*httptest.Server
	front   *strangler.Strangler
	metrics *strangler.Metrics
	reqs    *api.RequestMetrics
	logs    *syncBuffer
	stock   *stockCalls
}

// newGateway serves the routes file routes (its legacy_url set to
// legacyURL) with API keys for alice and bob and, with limits, the
// per-client rate limits on the real Redis.
func newGateway(t testing.TB, routes, legacyURL string, cfg strangler.Config, limits *api.RateLimits) *gateway {
	t.Helper()
	table, err := strangler.Parse([]byte("legacy_url: " + legacyURL + "\n" + routes))
	require.NoError(t, err)
	g := &gateway{logs: &syncBuffer{}, stock: &stockCalls{}}
	log := slog.New(slog.NewJSONHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	g.metrics, g.reqs = strangler.NewMetrics(reg), api.NewRequestMetrics(reg)
	cfg.Metrics = g.metrics
	g.front = strangler.New(cfg, table, log)
	deps := api.Deps{Sagas: noSagas{}, Stock: g.stock, Timeline: noTimeline{}, Front: g.front, RequestMetrics: g.reqs, Log: log}
	acfg := api.Config{Auth: api.Auth{Keys: map[string]string{aliceKey: "alice", bobKey: "bob"}}}
	if limits != nil {
		rdb, prefix := redistest.New(t)
		deps.Limiter, acfg.Limits = ratelimit.New(rdb, prefix+"ratelimit:"), *limits
	}
	g.Server = httptest.NewServer(api.New(acfg, deps))
	t.Cleanup(g.Close)
	return g
}

// do sends a request with headers (name, value, ...) and returns the
// response and its body.
func (g *gateway) do(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// problem decodes a problem+json answer.
func problem(t *testing.T, resp *http.Response, body string) map[string]any {
	t.Helper()
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), body)
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	return p
}

// logLines returns the gateway's JSON log lines whose msg is msg.
func (g *gateway) logLines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(g.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stockCalls is ordersaga's inventory catalog: every SKU has 7 units at
// 250 cents; it counts the reads.
type stockCalls struct {
	mu    sync.Mutex
	reads int
	// delay, if set, is how long a read takes.
	delay time.Duration
}

func (s *stockCalls) Get(_ context.Context, sku string) (ordersaga.Stock, error) {
	s.mu.Lock()
	s.reads++
	d := s.delay
	s.mu.Unlock()
	time.Sleep(d)
	return ordersaga.Stock{SKU: sku, Available: 7, PriceCents: 250}, nil
}

func (s *stockCalls) Put(context.Context, string, int64, int64) (ordersaga.Stock, error) {
	return ordersaga.Stock{}, ordersaga.Errorf(ordersaga.EINVALID, "read-only in this test")
}

func (s *stockCalls) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

type noSagas struct{}

func (noSagas) Start(context.Context, workflows.Input) error { return nil }
func (noSagas) State(context.Context, string) (workflows.State, error) {
	return workflows.State{}, ordersaga.Errorf(ordersaga.ENOTFOUND, "no such order")
}
func (noSagas) Owner(context.Context, string) (string, error) {
	return "", ordersaga.Errorf(ordersaga.ENOTFOUND, "no such order")
}
func (noSagas) List(context.Context, sagaclient.Filter, int, string) (sagaclient.Page, error) {
	return sagaclient.Page{}, nil
}
func (noSagas) Update(context.Context, string, string, string, ...any) error { return nil }

type noTimeline struct{}

func (noTimeline) Events(context.Context, string) ([]events.Event, error) { return nil, nil }

// eventually polls cond for up to 5s.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 10*time.Millisecond, msg)
}
