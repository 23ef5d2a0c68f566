package payment

// The payment service's HTTP client of the payment provider: bounded by a
// timeout per call, guarded by a circuit breaker, and idempotent through the
// Idempotency-Key header.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// ProviderConfig configures the provider client.
type ProviderConfig struct {
	// BaseURL of the provider, e.g. http://127.0.0.1:8090.
	BaseURL string
	// SecretKey, if set, is sent as "Authorization: Bearer <SecretKey>".
	SecretKey string
	// Timeout bounds each call (default 2s).
	Timeout time.Duration
	// BreakerFailures consecutive transient failures open the circuit
	// (default 5).
	BreakerFailures uint32
	// BreakerOpen is how long the circuit stays open before a trial call
	// (default 5s).
	BreakerOpen time.Duration
}

func (c *ProviderConfig) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.BreakerOpen <= 0 {
		c.BreakerOpen = 5 * time.Second
	}
}

// Provider calls the payment provider. It is safe for concurrent use.
type Provider struct {
	cfg  ProviderConfig
	http *http.Client
	cb   *gobreaker.CircuitBreaker[response]
}

var _ ProviderAPI = (*Provider)(nil)

// ErrTransient marks failures worth retrying: timeouts, 5xx, connection
// errors, an open circuit.
var ErrTransient = errors.New("payment provider unavailable")

type response struct {
	status int
	body   []byte
}

// NewProvider returns a client of the provider at cfg.BaseURL.
func NewProvider(cfg ProviderConfig, log *slog.Logger) (*Provider, error) {
	cfg.setDefaults()
	if cfg.BaseURL == "" {
		return nil, errors.New("payment provider client: BaseURL is required")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	c := &Provider{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout}}
	// Only transient failures say the provider is unwell; a decline is a
	// healthy answer.
	c.cb = servicehttp.NewBreaker[response]("payment-provider", cfg.BreakerFailures, cfg.BreakerOpen,
		func(err error) bool { return errors.Is(err, ErrTransient) }, log)
	return c, nil
}

// Charge implements ProviderAPI.
func (c *Provider) Charge(ctx context.Context, key, token string, amountCents int64) (string, error) {
	res, err := c.call(ctx, "/v1/charges", key, map[string]any{"token": token, "amount_cents": amountCents})
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("charge: unreadable answer %q: %w", res.body, ErrTransient)
	}
	return out.ID, nil
}

// Refund implements ProviderAPI.
func (c *Provider) Refund(ctx context.Context, key string) error {
	_, err := c.call(ctx, "/v1/refunds", key, map[string]any{})
	return err
}

// Authorize implements ProviderAPI.
func (c *Provider) Authorize(ctx context.Context, key, token string, amountCents int64) (string, error) {
	res, err := c.call(ctx, "/v1/authorizations", key, map[string]any{"token": token, "amount_cents": amountCents})
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("authorize: unreadable answer %q: %w", res.body, ErrTransient)
	}
	return out.ID, nil
}

// Capture implements ProviderAPI.
func (c *Provider) Capture(ctx context.Context, key string) (ProviderCapture, error) {
	res, err := c.call(ctx, "/v1/captures", key, map[string]any{})
	if err != nil {
		return ProviderCapture{}, err
	}
	var out struct {
		ID              string `json:"id"`
		AuthorizationID string `json:"authorization_id"`
		AmountCents     int64  `json:"amount_cents"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || out.ID == "" {
		return ProviderCapture{}, fmt.Errorf("capture: unreadable answer %q: %w", res.body, ErrTransient)
	}
	return ProviderCapture{CaptureID: out.ID, AuthorizationID: out.AuthorizationID, AmountCents: out.AmountCents}, nil
}

// Void implements ProviderAPI: the provider refuses to void
// a captured authorization (409 authorization_captured), which is then
// refunded.
func (c *Provider) Void(ctx context.Context, key string) (Release, error) {
	res, err := c.call(ctx, "/v1/voids", key, map[string]any{})
	if res.status == http.StatusConflict && providerCode(res.body) == "authorization_captured" {
		return c.RefundCapture(ctx, key)
	}
	if err != nil {
		return Release{}, err
	}
	return release("void", res.body)
}

// RefundCapture implements ProviderAPI.
func (c *Provider) RefundCapture(ctx context.Context, key string) (Release, error) {
	res, err := c.call(ctx, "/v1/refunds", key, map[string]any{})
	if err != nil {
		return Release{}, err
	}
	return release("refund", res.body)
}

// release reads the provider's answer to a void or a refund.
func release(op string, body []byte) (Release, error) {
	var out struct {
		Status          string `json:"status"`
		ChargeID        string `json:"charge_id"`
		AuthorizationID string `json:"authorization_id"`
		AmountCents     int64  `json:"amount_cents"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Status == "" {
		return Release{}, fmt.Errorf("%s: unreadable answer %q: %w", op, body, ErrTransient)
	}
	return Release{Status: out.Status, AuthorizationID: out.AuthorizationID, CaptureID: out.ChargeID, AmountCents: out.AmountCents}, nil
}

// call POSTs body to path through the circuit breaker and classifies the
// answer: 2xx ok; 402 ordersaga.ErrDeclined; 409 ordersaga.ErrCompensated;
// 401 and 403 a retryable error naming the secret key; other 4xx EINVALID;
// 5xx, timeouts and network errors ErrTransient.
func (c *Provider) call(ctx context.Context, path, key string, body any) (response, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return response{}, err
	}
	res, err := c.cb.Execute(func() (response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(payload))
		if err != nil {
			return response{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		if c.cfg.SecretKey != "" {
			req.Header.Set("Authorization", "Bearer "+c.cfg.SecretKey)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return response{}, fmt.Errorf("%w: %v", ErrTransient, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if err != nil {
			return response{}, fmt.Errorf("%w: read answer: %v", ErrTransient, err)
		}
		r := response{status: resp.StatusCode, body: b}
		switch {
		case r.status >= 200 && r.status < 300:
			return r, nil
		case r.status == http.StatusPaymentRequired:
			return r, fmt.Errorf("%w: %s", ordersaga.ErrDeclined, providerMessage(b))
		case r.status == http.StatusConflict:
			return r, fmt.Errorf("%w: %s", ordersaga.ErrCompensated, providerMessage(b))
		case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
			// A configuration error, not the request's: retryable, so that
			// the saga resumes once the key is fixed.
			return r, fmt.Errorf("the provider refused the secret key (status %d): check --provider-secret-key", r.status)
		case r.status >= 500:
			return r, fmt.Errorf("%w: status %d: %s", ErrTransient, r.status, providerMessage(b))
		}
		return r, &ordersaga.Error{Code: ordersaga.EINVALID, Message: fmt.Sprintf("provider refused the request (status %d): %s", r.status, providerMessage(b))}
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return res, fmt.Errorf("%w: circuit open", ErrTransient)
	}
	return res, err
}

// providerCode returns the error code of a provider's answer.
func providerCode(body []byte) string {
	var e struct {
		Code string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Code
}

func providerMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	return strings.TrimSpace(string(body))
}
