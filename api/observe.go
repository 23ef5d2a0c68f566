package api

import (
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/internal/telemetry"
)

// RequestIDHeader carries a request's ID: the caller's, if well-formed
// (RequestIDPattern), or one the API makes. It is echoed in every response
// and problem document, and logged.
const RequestIDHeader = "X-Request-ID"

// RequestIDPattern is what a caller's request ID must look like to be kept.
var RequestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

const requestIDKey = "ordersaga.request_id"

// RequestMetrics are the API's Prometheus metrics, by route (the route
// template, "unmatched" for none; a Front's route name for the requests it
// matched), upstream (UpstreamOrdersaga, UpstreamLegacy, UpstreamShadow),
// method and status. A nil
// *RequestMetrics records nothing.
type RequestMetrics struct {
	Requests *prometheus.CounterVec
	Duration *prometheus.HistogramVec
}

// NewRequestMetrics registers the API's metrics with reg.
func NewRequestMetrics(reg prometheus.Registerer) *RequestMetrics {
	m := &RequestMetrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordersaga_api_requests_total",
			Help: "API requests answered, by route, upstream (ordersaga, legacy: the monolith, shadow: a shadow route's comparison call), method and status."}, []string{"route", "upstream", "method", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ordersaga_api_request_duration_seconds",
			Help:    "Time to answer an API request, by route, upstream and method.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}, []string{"route", "upstream", "method"}),
	}
	reg.MustRegister(m.Requests, m.Duration)
	return m
}

// observe returns the middleware that traces, identifies, measures and
// logs each request: a server span (joining the caller's trace from its
// traceparent header), the request ID, the metrics, and one log line with
// method, route, path, status, duration, client, request ID and trace ID.
// Probes and scrapes (/healthz, /readyz, /metrics) are not traced and log
// at debug level unless they fail.
func (s *server) observe() []gin.HandlerFunc {
	traced := otelgin.Middleware("ordersaga-api",
		otelgin.WithPropagators(telemetry.Propagator),
		otelgin.WithGinFilter(func(c *gin.Context) bool { return !probe(c) }),
	)
	return []gin.HandlerFunc{traced, s.logRequest}
}

func (s *server) logRequest(c *gin.Context) {
	start := time.Now()
	id := c.GetHeader(RequestIDHeader)
	if !RequestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	c.Set(requestIDKey, id)
	c.Header(RequestIDHeader, id)
	c.Next()

	elapsed := time.Since(start)
	route, method, status := c.FullPath(), boundedMethod(c.Request.Method), c.Writer.Status()
	if route == "" {
		route = "unmatched"
	}
	upstream := UpstreamOrdersaga
	if fr, ok := frontRoute(c); ok {
		route, upstream = fr.Name, fr.Upstream
	}
	if m := s.deps.RequestMetrics; m != nil {
		m.Requests.WithLabelValues(route, upstream, method, strconv.Itoa(status)).Inc()
		m.Duration.WithLabelValues(route, upstream, method).Observe(elapsed.Seconds())
	}
	level := slog.LevelInfo
	switch {
	case status >= http.StatusInternalServerError:
		level = slog.LevelWarn
	case probe(c) && status < http.StatusBadRequest:
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method), slog.String("route", route), slog.String("path", truncate(c.Request.URL.Path, maxLoggedPath)),
		slog.Int("status", status), slog.Duration("duration", elapsed), slog.String("request_id", id),
		slog.String("upstream", upstream),
	}
	if who, ok := c.Get(principalKey); ok { // authenticated (or auth off) /v1 requests
		attrs = append(attrs, slog.String("client", who.(Principal).Name))
	}
	if sc := trace.SpanContextFromContext(c.Request.Context()); sc.HasTraceID() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	s.deps.Log.LogAttrs(c.Request.Context(), level, "request", attrs...)
}

// requestID is the request's ID ("" outside the middleware).
func requestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// probe reports whether c is a liveness or readiness probe or a scrape.
func probe(c *gin.Context) bool {
	switch c.Request.URL.Path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// boundedMethod keeps the metric's method label to the standard methods.
func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// maxLoggedPath bounds the path a request line logs: a client decides its
// length (up to the 1 MiB of headers Go reads), and the route already says
// which endpoint it was.
const maxLoggedPath = 256

// truncate returns s cut to at most n bytes, marked with "…" when cut, on a
// UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
