// Package paymentsim is a simulated payment provider: an HTTP server that
// charges, authorizes, captures, voids and refunds test card tokens,
// idempotently by the Idempotency-Key header, keeping its state in Redis so
// it survives restarts. With a secret key every /v1 call must present it.
//
// Test tokens: tok_ok approves; tok_declined (and any unknown token)
// declines; tok_flaky answers 503 to the first FlakyFailures attempts of a
// charge or authorization, then approves; tok_slow answers its first
// attempt after SlowDelay (longer than the client's timeout), then
// approves at once.
//
// API (every /v1 call: Authorization: Bearer <secret key>, when set; 401
// otherwise). Amounts are integers of cents, 1 to ordersaga.MaxTotalCents.
//
//	POST /v1/charges {"token","amount_cents"}  Idempotency-Key: K
//	  200 {"id","status":"succeeded","amount_cents"} | 402 declined | 409 voided, refunded or in use | 503
//	POST /v1/authorizations {"token","amount_cents"}  Idempotency-Key: A
//	  200 {"id","status":"authorized"|"captured","amount_cents"} | 402 declined | 409 voided, refunded or in use | 503
//	POST /v1/captures  Idempotency-Key: A (the authorization's)
//	  200 {"id","authorization_id","status":"captured","amount_cents"}: the whole authorized amount, once
//	  | 404 no authorization under A | 409 voided, refunded, declined or in use
//	POST /v1/voids     Idempotency-Key: A (the authorization's)
//	  200 {"status":"voided"|"declined"|"refunded","authorization_id","amount_cents"}: releases the hold;
//	  with no authorization under A, voids A so that a later one is refused | 409 captured (refund it)
//	POST /v1/refunds   Idempotency-Key: K or A
//	  200 {"status":"refunded"|"voided","charge_id","authorization_id","amount_cents"}: refunds a charge
//	  or a capture once; releases an authorization not captured; voids a key with nothing under it
//	GET  /v1/ledger  200 a Ledger
package paymentsim

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config configures the simulator.
type Config struct {
	// Keyspace prefixes every key (default "{paymentsim}:"). A script
	// touches a charge and the ledger: under Redis Cluster the keyspace
	// must hold a hash tag, as the default does.
	Keyspace string
	// SlowDelay is how late tok_slow's first attempt answers (default 3s).
	SlowDelay time.Duration
	// FlakyFailures is how many attempts of a tok_flaky charge or
	// authorization fail with 503 (default 2).
	FlakyFailures int
	// SecretKey, if set, is the key every /v1 caller must send as
	// "Authorization: Bearer <SecretKey>". Empty: no authentication, which
	// only a provider on a loopback address may run with (the caller's
	// decision: see the payment-provider command).
	SecretKey string
}

func (c *Config) setDefaults() {
	if c.Keyspace == "" {
		c.Keyspace = "{paymentsim}:"
	}
	if c.SlowDelay <= 0 {
		c.SlowDelay = 3 * time.Second
	}
	if c.FlakyFailures <= 0 {
		c.FlakyFailures = 2
	}
}

// Provider is the simulator. Its Handler is safe for concurrent use.
type Provider struct {
	rdb redis.Cmdable
	cfg Config
	log *slog.Logger
}

// New returns a simulator storing its state in rdb.
func New(rdb redis.Cmdable, cfg Config, log *slog.Logger) *Provider {
	cfg.setDefaults()
	return &Provider{rdb: rdb, cfg: cfg, log: log}
}

// Ledger is the provider's running totals. The money the provider has
// taken is ChargedCents + CapturedCents - RefundedCents; the money it holds
// on cards is AuthorizedCents - CapturedCents - VoidedCents.
type Ledger struct {
	ChargedCents    int64 `json:"charged_cents"`
	RefundedCents   int64 `json:"refunded_cents"`
	Charges         int64 `json:"charges"`
	Refunds         int64 `json:"refunds"`
	AuthorizedCents int64 `json:"authorized_cents,omitempty"`
	Authorizations  int64 `json:"authorizations,omitempty"`
	CapturedCents   int64 `json:"captured_cents,omitempty"`
	Captures        int64 `json:"captures,omitempty"`
	VoidedCents     int64 `json:"voided_cents,omitempty"`
	Voids           int64 `json:"voids,omitempty"`
}

// Handler returns the provider's HTTP API.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", p.charge)
	mux.HandleFunc("POST /v1/authorizations", p.authorize)
	mux.HandleFunc("POST /v1/captures", p.capture)
	mux.HandleFunc("POST /v1/voids", p.void)
	mux.HandleFunc("POST /v1/refunds", p.refund)
	mux.HandleFunc("GET /v1/ledger", p.ledger)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	return http.MaxBytesHandler(p.authenticate(mux), 1<<16)
}

// authenticate refuses a /v1 call without the secret key (when there is
// one), compared in constant time.
func (p *Provider) authenticate(next http.Handler) http.Handler {
	if p.cfg.SecretKey == "" {
		return next
	}
	want := []byte(p.cfg.SecretKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="paymentsim"`)
				writeError(w, http.StatusUnauthorized, "unauthorized", "a valid secret key is required: Authorization: Bearer <key>")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (p *Provider) key(parts ...string) string {
	return p.cfg.Keyspace + strings.Join(parts, ":")
}

func (p *Provider) ledger(w http.ResponseWriter, r *http.Request) {
	l, err := p.Ledger(r.Context())
	if err != nil {
		writeError(w, 500, "internal", "storage failed")
		return
	}
	writeJSON(w, 200, l)
}

// Ledger returns the provider's running totals.
func (p *Provider) Ledger(ctx context.Context) (Ledger, error) {
	h, err := p.rdb.HGetAll(ctx, p.key("ledger")).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Ledger{}, err
	}
	n := func(f string) int64 { v, _ := strconv.ParseInt(h[f], 10, 64); return v }
	return Ledger{ChargedCents: n("charged_cents"), RefundedCents: n("refunded_cents"), Charges: n("charges"), Refunds: n("refunds"),
		AuthorizedCents: n("authorized_cents"), Authorizations: n("authorizations"), CapturedCents: n("captured_cents"),
		Captures: n("captures"), VoidedCents: n("voided_cents"), Voids: n("voids")}, nil
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}
