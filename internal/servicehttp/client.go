package servicehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/telemetry"
)

// ClientConfig configures a Client of one service's API.
type ClientConfig struct {
	// Service names the service in errors, logs and its breaker ("order").
	Service string
	// BaseURL of the service's API, e.g. http://127.0.0.1:9101.
	BaseURL string
	// Token, if set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Timeout bounds each attempt of a call (default 1s).
	Timeout time.Duration
	// BreakerFailures consecutive failed attempts open the circuit
	// (default 5).
	BreakerFailures uint32
	// BreakerOpen is how long the circuit stays open before a trial call
	// (default 5s).
	BreakerOpen time.Duration
}

func (c *ClientConfig) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.BreakerOpen <= 0 {
		c.BreakerOpen = 5 * time.Second
	}
}

// Client calls one service's JSON API. It is safe for concurrent use.
//
// Errors are domain errors: ENOTFOUND for a 404; EINVALID for a 400; the
// service's own code, message and field for its other 4xx problems; EUNAVAILABLE ("<service>
// service unavailable: <why>", the cause wrapped) for a timeout, a failed
// connection, a 5xx or an open circuit; EINTERNAL for a refused token, a
// redirect (never followed) or an unreadable answer. Only EUNAVAILABLE failures count towards opening the
// circuit; while it is open calls fail at once, without reaching the
// service.
type Client struct {
	cfg  ClientConfig
	http *http.Client
	cb   *gobreaker.CircuitBreaker[struct{}]
}

// NewClient returns a client of the service at cfg.BaseURL.
func NewClient(cfg ClientConfig, log *slog.Logger) (*Client, error) {
	cfg.setDefaults()
	if cfg.Service == "" || cfg.BaseURL == "" {
		return nil, errors.New("service client: Service and BaseURL are required")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	// Each call is a client span of the caller's trace, which travels to
	// the service in traceparent.
	traced := otelhttp.NewTransport(transport, otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return cfg.Service + " " + r.Method }))
	// A service never redirects (Router); a redirect is not followed, and
	// answers as the bug it is.
	c := &Client{cfg: cfg, http: &http.Client{Transport: traced,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.cb = NewBreaker[struct{}](cfg.Service+"-service", cfg.BreakerFailures, cfg.BreakerOpen,
		func(err error) bool { return ordersaga.ErrorCode(err) == ordersaga.EUNAVAILABLE }, log)
	return c, nil
}

// NewBreaker returns a circuit breaker that opens after failures
// consecutive calls whose error failed says is the callee's failure (other
// errors count as healthy answers), stays open for open, then lets one
// trial call through; it logs each change of state.
func NewBreaker[T any](name string, failures uint32, open time.Duration, failed func(error) bool, log *slog.Logger) *gobreaker.CircuitBreaker[T] {
	return gobreaker.NewCircuitBreaker[T](gobreaker.Settings{
		Name:         name,
		MaxRequests:  1,
		Timeout:      open,
		ReadyToTrip:  func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		IsSuccessful: func(err error) bool { return !failed(err) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Warn("circuit breaker state changed", "breaker", name, "from", from.String(), "to", to.String())
		},
	})
}

// Get reads path into out. A GET is idempotent, so an unavailable
// service is tried once more (unless the circuit is open or ctx is done).
func (c *Client) Get(ctx context.Context, path string, out any) error {
	err := c.attempt(ctx, http.MethodGet, path, nil, out)
	if ordersaga.ErrorCode(err) == ordersaga.EUNAVAILABLE && !errors.Is(err, gobreaker.ErrOpenState) && ctx.Err() == nil {
		err = c.attempt(ctx, http.MethodGet, path, nil, out)
	}
	return err
}

// Get reads path with c as a T (see Client.Get).
func Get[T any](ctx context.Context, c *Client, path string) (T, error) {
	var v T
	err := c.Get(ctx, path, &v)
	return v, err
}

// Put sends in as JSON to path, once, and decodes the answer into out.
func (c *Client) Put(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s service: encode request: %w", c.cfg.Service, err)
	}
	return c.attempt(ctx, http.MethodPut, path, body, out)
}

// attempt makes one call through the circuit breaker.
func (c *Client) attempt(ctx context.Context, method, path string, body []byte, out any) error {
	_, err := c.cb.Execute(func() (struct{}, error) { return struct{}{}, c.do(ctx, method, path, body, out) })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return c.unavailable("circuit open", gobreaker.ErrOpenState)
	}
	return err
}

// do sends one request, bounded by the timeout, and classifies the answer.
// A call cut short because the caller gave up (caller done: its client hung
// up or its own deadline passed) says nothing of the service, so it is not
// EUNAVAILABLE and does not count towards opening the circuit.
func (c *Client) do(caller context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(caller, c.cfg.Timeout)
	defer cancel()
	gaveUp := func(err error) error {
		return fmt.Errorf("%s service: the caller gave up: %w (%w)", c.cfg.Service, context.Cause(caller), err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s service: %w", c.cfg.Service, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if caller.Err() != nil {
			return gaveUp(err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return c.unavailable("timed out", err)
		}
		return c.unavailable("connection failed", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if caller.Err() != nil {
			return gaveUp(err)
		}
		return c.unavailable("answer cut off", err)
	}
	switch status := resp.StatusCode; {
	case status >= 200 && status < 300:
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s service: unreadable answer: %w", c.cfg.Service, err)
		}
		return nil
	case status >= 500:
		return c.unavailable(fmt.Sprintf("answered %d", status), fmt.Errorf("status %d: %s", status, raw))
	case status >= 300 && status < 400:
		return fmt.Errorf("%s service answered %d (redirect to %q), which it never should", c.cfg.Service, status, resp.Header.Get("Location"))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%s service refused the caller's token (status %d): check --service-token", c.cfg.Service, status)
	}
	return c.problem(resp.StatusCode, raw)
}

// problem turns a 4xx answer into a domain error: the service's own code,
// message and field when it is a domain code; anything else (415, 405, …)
// means the request was built wrong, which is internal.
func (c *Client) problem(status int, raw []byte) error {
	var p Problem
	_ = json.Unmarshal(raw, &p)
	if status == http.StatusNotFound && p.Code != CodeNoRoute {
		p.Code = ordersaga.ENOTFOUND // no such record
	}
	if status == http.StatusBadRequest && p.Code != ordersaga.EINVALID {
		// A 400 without a domain code (net/http's own, a proxy's) is still
		// the request's fault, not the service's.
		p.Code, p.Detail = ordersaga.EINVALID, ""
	}
	if _, ok := statusByCode[p.Code]; !ok || p.Code == ordersaga.EINTERNAL {
		return fmt.Errorf("%s service answered %d: %s", c.cfg.Service, status, raw)
	}
	if p.Detail == "" {
		p.Detail = c.cfg.Service + " service: " + http.StatusText(status)
	}
	return &ordersaga.Error{Code: p.Code, Message: p.Detail, Field: p.Field}
}

func (c *Client) unavailable(why string, err error) error {
	return &ordersaga.Error{Code: ordersaga.EUNAVAILABLE, Message: c.cfg.Service + " service unavailable: " + why, Err: err}
}

// PathSegment escapes s as one segment of a path: as url.PathEscape, and
// "." and ".." as %2E and %2E%2E, so that no one resolves them as dot
// segments; the service reads them back as "." and ".." (and refuses
// them as IDs).
func PathSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}
