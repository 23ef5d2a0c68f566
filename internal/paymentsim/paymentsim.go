// Package paymentsim is a simulated payment provider: an HTTP server that
// charges and refunds test card tokens, idempotently by the Idempotency-Key
// header, keeping its state in Redis so it survives restarts.
//
// Test tokens: tok_ok approves; tok_declined (and any unknown token)
// declines; tok_flaky answers 503 to the first FlakyFailures attempts of a
// charge, then approves; tok_slow answers its first attempt after
// SlowDelay (longer than the client's timeout), then approves at once.
//
// API:
//
//	POST /v1/charges {"token","amount_cents"}  Idempotency-Key: K
//	  200 {"id","status":"succeeded","amount_cents"} | 402 declined | 409 voided or refunded | 503
//	POST /v1/refunds                           Idempotency-Key: K (the charge's)
//	  200 {"status":"refunded"|"voided","charge_id"}
//	GET  /v1/ledger  200 {"charged_cents","refunded_cents","charges","refunds"}
package paymentsim

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/charge.lua
	chargeLua    string
	chargeScript = redis.NewScript(chargeLua)
	//go:embed lua/refund.lua
	refundLua    string
	refundScript = redis.NewScript(refundLua)
)

// Config configures the simulator.
type Config struct {
	// Keyspace prefixes every key (default "paymentsim:").
	Keyspace string
	// SlowDelay is how late tok_slow's first attempt answers (default 3s).
	SlowDelay time.Duration
	// FlakyFailures is how many attempts of a tok_flaky charge fail with 503
	// (default 2).
	FlakyFailures int
}

func (c *Config) setDefaults() {
	if c.Keyspace == "" {
		c.Keyspace = "paymentsim:"
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

// Ledger is the provider's running totals.
type Ledger struct {
	ChargedCents  int64 `json:"charged_cents"`
	RefundedCents int64 `json:"refunded_cents"`
	Charges       int64 `json:"charges"`
	Refunds       int64 `json:"refunds"`
}

// Handler returns the provider's HTTP API.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", p.charge)
	mux.HandleFunc("POST /v1/refunds", p.refund)
	mux.HandleFunc("GET /v1/ledger", p.ledger)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	return http.MaxBytesHandler(mux, 1<<16)
}

func (p *Provider) key(parts ...string) string {
	k := p.cfg.Keyspace
	for i, s := range parts {
		if i > 0 {
			k += ":"
		}
		k += s
	}
	return k
}

func (p *Provider) charge(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	var req struct {
		Token       string `json:"token"`
		AmountCents int64  `json:"amount_cents"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || key == "" || req.Token == "" || req.AmountCents <= 0 {
		writeError(w, 400, "invalid_request", "need an Idempotency-Key header and a JSON body with token and a positive amount_cents")
		return
	}
	res, err := chargeScript.Run(r.Context(), p.rdb, []string{p.key("charge", key), p.key("ledger")},
		req.Token, req.AmountCents, p.cfg.FlakyFailures, newID("ch_")).Slice()
	if err != nil {
		p.log.Error("paymentsim: charge", "error", err)
		writeError(w, 500, "internal", "storage failed")
		return
	}
	status, id, attempts := res[0].(string), res[1].(string), res[2].(int64)
	switch status {
	case "succeeded":
		if req.Token == "tok_slow" && attempts == 1 {
			select {
			case <-time.After(p.cfg.SlowDelay):
			case <-r.Context().Done():
				return
			}
		}
		writeJSON(w, 200, map[string]any{"id": id, "status": status, "amount_cents": req.AmountCents})
	case "declined":
		writeError(w, 402, "card_declined", "the card was declined")
	case "unavailable":
		writeError(w, 503, "unavailable", "try again later (attempt "+strconv.FormatInt(attempts, 10)+")")
	default: // voided, refunded
		writeError(w, 409, "charge_"+status, "this idempotency key was "+status)
	}
}

func (p *Provider) refund(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		writeError(w, 400, "invalid_request", "need an Idempotency-Key header naming the charge")
		return
	}
	res, err := refundScript.Run(r.Context(), p.rdb, []string{p.key("charge", key), p.key("ledger")}).StringSlice()
	if err != nil {
		p.log.Error("paymentsim: refund", "error", err)
		writeError(w, 500, "internal", "storage failed")
		return
	}
	writeJSON(w, 200, map[string]string{"status": res[0], "charge_id": res[1]})
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
	return Ledger{ChargedCents: n("charged_cents"), RefundedCents: n("refunded_cents"), Charges: n("charges"), Refunds: n("refunds")}, nil
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
