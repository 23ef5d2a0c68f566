package paymentsim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
)

var (
	//go:embed lua/charge.lua
	chargeLua    string
	chargeScript = redis.NewScript(chargeLua)
	//go:embed lua/refund.lua
	refundLua    string
	refundScript = redis.NewScript(refundLua)
	//go:embed lua/authorize.lua
	authorizeLua    string
	authorizeScript = redis.NewScript(authorizeLua)
	//go:embed lua/capture.lua
	captureLua    string
	captureScript = redis.NewScript(captureLua)
	//go:embed lua/void.lua
	voidLua    string
	voidScript = redis.NewScript(voidLua)
)

// payRequest is the body of a charge or an authorization.
type payRequest struct {
	Token       string `json:"token"`
	AmountCents int64  `json:"amount_cents"`
}

// readPayment reads the Idempotency-Key and the body of a charge or an
// authorization, or answers 400 and returns false.
func readPayment(w http.ResponseWriter, r *http.Request) (string, payRequest, bool) {
	key := r.Header.Get("Idempotency-Key")
	var req payRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || key == "" || req.Token == "" || req.AmountCents <= 0 || req.AmountCents > ordersaga.MaxTotalCents {
		writeError(w, 400, "invalid_request", fmt.Sprintf(
			"need an Idempotency-Key header and a JSON body with token and amount_cents between 1 and %d", int64(ordersaga.MaxTotalCents)))
		return "", req, false
	}
	return key, req, true
}

// idempotencyKey reads the Idempotency-Key, or answers 400 and returns "".
func idempotencyKey(w http.ResponseWriter, r *http.Request, names string) string {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		writeError(w, 400, "invalid_request", "need an Idempotency-Key header naming "+names)
	}
	return key
}

// run runs script and returns its answer as strings, or answers 500.
func (p *Provider) run(w http.ResponseWriter, r *http.Request, op string, script *redis.Script, keys []string, args ...any) ([]string, bool) {
	res, err := script.Run(r.Context(), p.rdb, keys, args...).Slice()
	if err != nil {
		p.log.Error("paymentsim: "+op, "error", err)
		writeError(w, 500, "internal", "storage failed")
		return nil, false
	}
	out := make([]string, len(res))
	for i, v := range res {
		switch v := v.(type) {
		case string:
			out[i] = v
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		}
	}
	return out, true
}

func (p *Provider) charge(w http.ResponseWriter, r *http.Request) {
	key, req, ok := readPayment(w, r)
	if !ok {
		return
	}
	res, ok := p.run(w, r, "charge", chargeScript, []string{p.key("charge", key), p.key("ledger")},
		req.Token, req.AmountCents, p.cfg.FlakyFailures, newID("ch_"))
	if !ok {
		return
	}
	status, id, attempts := res[0], res[1], res[2]
	if status == "succeeded" {
		if !p.slow(r, req.Token, attempts) {
			return
		}
		writeJSON(w, 200, map[string]any{"id": id, "status": status, "amount_cents": req.AmountCents})
		return
	}
	p.refused(w, "charge", status, attempts)
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	key, req, ok := readPayment(w, r)
	if !ok {
		return
	}
	res, ok := p.run(w, r, "authorize", authorizeScript, []string{p.key("charge", key), p.key("ledger")},
		req.Token, req.AmountCents, p.cfg.FlakyFailures, newID("au_"))
	if !ok {
		return
	}
	status, id, attempts := res[0], res[1], res[2]
	if status == "authorized" || status == "captured" {
		if !p.slow(r, req.Token, attempts) {
			return
		}
		writeJSON(w, 200, map[string]any{"id": id, "status": status, "amount_cents": json.Number(res[3])})
		return
	}
	p.refused(w, "authorization", status, attempts)
}

// slow delays tok_slow's first attempt by SlowDelay; false if the caller
// gave up meanwhile.
func (p *Provider) slow(r *http.Request, token, attempts string) bool {
	if token != "tok_slow" || attempts != "1" {
		return true
	}
	select {
	case <-time.After(p.cfg.SlowDelay):
		return true
	case <-r.Context().Done():
		return false
	}
}

// refused answers a charge or an authorization that did not succeed.
func (p *Provider) refused(w http.ResponseWriter, what, status, attempts string) {
	switch status {
	case "declined":
		writeError(w, 402, "card_declined", "the card was declined")
	case "unavailable":
		writeError(w, 503, "unavailable", "try again later (attempt "+attempts+")")
	case "in_use":
		writeError(w, 409, "key_in_use", "this idempotency key names another kind of payment")
	default: // voided, refunded
		writeError(w, 409, what+"_"+status, "this idempotency key was "+status)
	}
}

func (p *Provider) capture(w http.ResponseWriter, r *http.Request) {
	key := idempotencyKey(w, r, "the authorization")
	if key == "" {
		return
	}
	res, ok := p.run(w, r, "capture", captureScript, []string{p.key("charge", key), p.key("ledger")}, newID("cp_"))
	if !ok {
		return
	}
	switch status := res[0]; status {
	case "captured":
		writeJSON(w, 200, map[string]any{"id": res[1], "authorization_id": res[2], "status": status, "amount_cents": json.Number(res[3])})
	case "missing":
		writeError(w, 404, "authorization_missing", "no authorization under this idempotency key")
	case "in_use":
		writeError(w, 409, "key_in_use", "this idempotency key names a charge, not an authorization")
	default: // declined, voided, refunded
		writeError(w, 409, "authorization_"+status, "the authorization under this idempotency key was "+status)
	}
}

func (p *Provider) void(w http.ResponseWriter, r *http.Request) {
	key := idempotencyKey(w, r, "the authorization")
	if key == "" {
		return
	}
	res, ok := p.run(w, r, "void", voidScript, []string{p.key("charge", key), p.key("ledger")})
	if !ok {
		return
	}
	switch status := res[0]; status {
	case "captured":
		writeError(w, 409, "authorization_captured", "the authorization was captured: refund it instead")
	case "in_use":
		writeError(w, 409, "key_in_use", "this idempotency key names a charge: refund it instead")
	default: // voided, declined, refunded
		writeJSON(w, 200, map[string]any{"status": status, "authorization_id": res[1], "amount_cents": json.Number(res[3])})
	}
}

func (p *Provider) refund(w http.ResponseWriter, r *http.Request) {
	key := idempotencyKey(w, r, "the charge or the authorization")
	if key == "" {
		return
	}
	res, ok := p.run(w, r, "refund", refundScript, []string{p.key("charge", key), p.key("ledger")})
	if !ok {
		return
	}
	writeJSON(w, 200, map[string]any{"status": res[0], "charge_id": res[1], "authorization_id": res[2], "amount_cents": json.Number(res[3])})
}
