package paymentsim_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/payment/paymentsim"
)

const secret = "provider-secret-0123456789"

// sim serves a simulator on real Redis behind secret (none if empty).
func sim(t *testing.T, key string) (*paymentsim.Provider, string) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	p := paymentsim.New(rdb, paymentsim.Config{Keyspace: prefix + "{paymentsim}:", SecretKey: key},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// post sends a call with idempotency key k and bearer auth, and returns
// the status and the JSON answer.
func post(t *testing.T, url, path, k, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", k)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func ledger(t *testing.T, p *paymentsim.Provider) paymentsim.Ledger {
	t.Helper()
	l, err := p.Ledger(context.Background())
	require.NoError(t, err)
	return l
}

// TestCallersNeedTheSecretKey: with a secret key, no call reaches the
// ledger without it, refunds included (finding 10); health stays open.
func TestCallersNeedTheSecretKey(t *testing.T) {
	t.Parallel()
	p, url := sim(t, secret)
	code, _ := post(t, url, "/v1/charges", "k", secret, `{"token":"tok_ok","amount_cents":500}`)
	require.Equal(t, 200, code)
	for _, path := range []string{"/v1/refunds", "/v1/charges", "/v1/authorizations", "/v1/captures", "/v1/voids"} {
		for _, auth := range []string{"", "wrong-" + secret} {
			code, body := post(t, url, path, "k", auth, `{"token":"tok_ok","amount_cents":500}`)
			require.Equal(t, http.StatusUnauthorized, code, "%s with %q: %v", path, auth, body)
		}
	}
	require.Equal(t, paymentsim.Ledger{ChargedCents: 500, Charges: 1}, ledger(t, p), "nothing refunded, charged or held")
	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	resp, err = http.Get(url + "/v1/ledger")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

// TestAuthorizeCaptureOnce: an authorization holds its amount once per
// key; its capture takes that amount once, whatever the repeats.
func TestAuthorizeCaptureOnce(t *testing.T) {
	t.Parallel()
	p, url := sim(t, "")
	code, a1 := post(t, url, "/v1/authorizations", "A", "", `{"token":"tok_ok","amount_cents":99999999999999}`)
	require.Equal(t, 200, code, "%v", a1)
	_, a2 := post(t, url, "/v1/authorizations", "A", "", `{"token":"tok_ok","amount_cents":99999999999999}`)
	require.Equal(t, a1, a2)
	require.Equal(t, "authorized", a1["status"])
	for range 2 {
		code, c := post(t, url, "/v1/captures", "A", "", "")
		require.Equal(t, 200, code, "%v", c)
		require.Equal(t, a1["id"], c["authorization_id"])
		require.EqualValues(t, 99999999999999, c["amount_cents"])
	}
	code, _ = post(t, url, "/v1/voids", "A", "", "")
	require.Equal(t, http.StatusConflict, code, "a captured authorization is refunded, not voided")
	require.Equal(t, paymentsim.Ledger{AuthorizedCents: 99999999999999, Authorizations: 1, CapturedCents: 99999999999999, Captures: 1}, ledger(t, p))
	for range 2 {
		code, r := post(t, url, "/v1/refunds", "A", "", "")
		require.Equal(t, 200, code)
		require.Equal(t, "refunded", r["status"])
		require.EqualValues(t, 99999999999999, r["amount_cents"])
	}
	code, _ = post(t, url, "/v1/captures", "A", "", "")
	require.Equal(t, http.StatusConflict, code, "a refunded capture is not taken again")
	require.EqualValues(t, 99999999999999, ledger(t, p).RefundedCents)

	code, _ = post(t, url, "/v1/authorizations", "big", "", `{"token":"tok_ok","amount_cents":100000000000000}`)
	require.Equal(t, http.StatusBadRequest, code, "past the bound")
	code, _ = post(t, url, "/v1/captures", "none", "", "")
	require.Equal(t, http.StatusNotFound, code)
}

// TestVoidBeforeOrInsteadOfAuthorization: a void releases a hold; before
// any authorization it voids the key, so a late authorization is refused.
func TestVoidBeforeOrInsteadOfAuthorization(t *testing.T) {
	t.Parallel()
	p, url := sim(t, "")
	code, _ := post(t, url, "/v1/authorizations", "held", "", `{"token":"tok_ok","amount_cents":700}`)
	require.Equal(t, 200, code)
	for range 2 {
		code, v := post(t, url, "/v1/voids", "held", "", "")
		require.Equal(t, 200, code)
		require.Equal(t, "voided", v["status"])
		require.EqualValues(t, 700, v["amount_cents"])
	}
	code, _ = post(t, url, "/v1/captures", "held", "", "")
	require.Equal(t, http.StatusConflict, code, "a voided authorization is not captured")

	code, v := post(t, url, "/v1/voids", "early", "", "")
	require.Equal(t, 200, code)
	require.Equal(t, "voided", v["status"])
	code, body := post(t, url, "/v1/authorizations", "early", "", `{"token":"tok_ok","amount_cents":700}`)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	code, _ = post(t, url, "/v1/charges", "early", "", `{"token":"tok_ok","amount_cents":700}`)
	require.Equal(t, http.StatusConflict, code)

	code, _ = post(t, url, "/v1/authorizations", "no", "", `{"token":"tok_declined","amount_cents":700}`)
	require.Equal(t, http.StatusPaymentRequired, code)
	code, v = post(t, url, "/v1/voids", "no", "", "")
	require.Equal(t, 200, code)
	require.Equal(t, "declined", v["status"])

	// A refund of an authorization never captured releases it.
	code, _ = post(t, url, "/v1/authorizations", "r", "", `{"token":"tok_ok","amount_cents":300}`)
	require.Equal(t, 200, code)
	code, v = post(t, url, "/v1/refunds", "r", "", "")
	require.Equal(t, 200, code)
	require.Equal(t, "voided", v["status"])
	require.Equal(t, paymentsim.Ledger{AuthorizedCents: 1000, Authorizations: 2, VoidedCents: 1000, Voids: 2}, ledger(t, p))

	// Keys do not mix a charge and an authorization.
	code, _ = post(t, url, "/v1/charges", "c", "", `{"token":"tok_ok","amount_cents":5}`)
	require.Equal(t, 200, code)
	for _, path := range []string{"/v1/authorizations", "/v1/captures", "/v1/voids"} {
		code, _ = post(t, url, path, "c", "", `{"token":"tok_ok","amount_cents":5}`)
		require.Equal(t, http.StatusConflict, code, path)
	}
}
