package strangler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"

	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/telemetry"
)

// Problem codes of the gateway's own answers on legacy-bound routes.
const (
	// CodeLegacyUnavailable (502): the monolith could not be reached, or
	// failed before answering.
	CodeLegacyUnavailable = "legacy_unavailable"
	// CodeLegacyTimeout (504): the monolith did not answer within the
	// response timeout.
	CodeLegacyTimeout = "legacy_timeout"
	// CodeLegacyCircuitOpen (503, Retry-After): the circuit breaker on the
	// monolith is open; the request was not sent.
	CodeLegacyCircuitOpen = "legacy_circuit_open"
	// CodePathNotClean (400): a legacy-bound path with dot segments or
	// empty segments, which the monolith might resolve out of its route.
	CodePathNotClean = "path_not_clean"
)

// errLegacyFailed counts a 502, 503 or 504 of the monolith towards opening
// the circuit; the answer itself still goes to the client.
var errLegacyFailed = errors.New("the monolith answered 502, 503 or 504")

// proxy sends requests to the monolith through httputil.ReverseProxy, with
// timeouts and a circuit breaker.
type proxy struct {
	rp      *httputil.ReverseProxy
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	retry   string // Retry-After of an open circuit, in seconds
	metrics *Metrics
	log     *slog.Logger
}

// newProxy returns the proxy to target.
func newProxy(target *url.URL, cfg Config, log *slog.Logger) *proxy {
	p := &proxy{metrics: cfg.Metrics, log: log, retry: strconv.Itoa(max(1, int(math.Ceil(cfg.BreakerOpen.Seconds()))))}
	p.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name: "legacy", MaxRequests: 1, Timeout: cfg.BreakerOpen,
		ReadyToTrip:  func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= cfg.BreakerFailures },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		IsSuccessful: func(err error) bool { return err == nil },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			log.Warn("circuit breaker on the monolith changed state", "breaker", "legacy", "from", from.String(), "to", to.String())
			cfg.Metrics.breaker(to)
		},
	})
	transport := &http.Transport{
		Proxy:                 nil, // the monolith is reached directly, whatever HTTP_PROXY says
		DialContext:           (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ResponseHeaderTimeout: cfg.ResponseTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       cfg.IdleTimeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		ForceAttemptHTTP2:     true,
	}
	traced := otelhttp.NewTransport(transport, otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "legacy " + r.Method }))
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			pr.SetXForwarded()
			traceparent(pr.Out)
		},
		Transport:    breakerTransport{next: traced, cb: p.cb},
		ErrorHandler: p.fail,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return p
}

// ServeHTTP proxies r to the monolith. Its answer, status and body, comes
// back unchanged; a failure to get one is a problem (see the Code*
// constants).
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.rp.ServeHTTP(w, r) }

// traceparent gives out a traceparent when the request carries no trace
// (tracing off, no caller's trace): the monolith can still join its logs.
func traceparent(out *http.Request) {
	telemetry.Propagator.Inject(out.Context(), propagation.HeaderCarrier(out.Header))
	if out.Header.Get("traceparent") != "" {
		return
	}
	var ids [24]byte
	_, _ = rand.Read(ids[:])
	out.Header.Set("traceparent", "00-"+hex.EncodeToString(ids[:16])+"-"+hex.EncodeToString(ids[16:])+"-00")
}

// fail answers a request the monolith did not answer.
func (p *proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, detail := http.StatusBadGateway, CodeLegacyUnavailable, "the monolith could not be reached"
	var nerr net.Error
	switch {
	case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
		status, code, detail = http.StatusServiceUnavailable, CodeLegacyCircuitOpen, "the monolith is failing: requests to it are paused"
		w.Header().Set("Retry-After", p.retry)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout():
		status, code, detail = http.StatusGatewayTimeout, CodeLegacyTimeout, "the monolith did not answer in time"
	case r.Context().Err() != nil: // the client went away
		p.metrics.failed(code)
		return
	}
	p.metrics.failed(code)
	p.log.WarnContext(r.Context(), "monolith request failed", "code", code, "method", r.Method,
		"path", r.URL.Path, "request_id", w.Header().Get("X-Request-ID"), "error", err)
	writeProblem(w, r, status, code, detail)
}

// writeProblem answers an RFC 9457 problem+json document, with the
// request's ID as the gateway's problems have it.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	p := struct {
		servicehttp.Problem
		RequestID string `json:"request_id,omitempty"`
	}{Problem: *servicehttp.NewProblem(status, code, detail), RequestID: w.Header().Get("X-Request-ID")}
	p.Instance = r.URL.Path
	w.Header().Set("Content-Type", servicehttp.ProblemType)
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// breakerTransport puts the circuit breaker around each call: a failed
// round trip and a 502, 503 or 504 count as failures; while the circuit is
// open no call is made.
type breakerTransport struct {
	next http.RoundTripper
	cb   *gobreaker.TwoStepCircuitBreaker[struct{}]
}

func (t breakerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	done, err := t.cb.Allow()
	if err != nil {
		return nil, fmt.Errorf("monolith: %w", err)
	}
	resp, err := t.next.RoundTrip(r)
	switch {
	case err != nil && r.Context().Err() == context.Canceled:
		done(context.Canceled)
	case err != nil:
		done(err)
	case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
		resp.StatusCode == http.StatusGatewayTimeout:
		done(errLegacyFailed)
	default:
		done(nil)
	}
	return resp, err
}
