package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
)

// TestContractIsServed: GET /openapi.yaml answers the document the
// contract checker checks against, with no key.
func TestContractIsServed(t *testing.T) {
	t.Parallel()
	h := newSecureAPI(t, &fakeSagas{}, nil, scopedAuth)
	rec, _ := send(t, h, "GET", "/openapi.yaml", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, api.OpenAPI(), rec.Body.Bytes())
	require.Contains(t, rec.Body.String(), "openapi: 3.1.0")
}

// TestDocsPageRendersOffline renders GET /docs in headless Chromium: Redoc,
// served by the API itself, renders the document (the page's
// Content-Security-Policy lets it load nothing from elsewhere). Every
// request the browser makes is checked against the contract.
func TestDocsPageRendersOffline(t *testing.T) {
	t.Parallel()
	const chromium = "/usr/bin/chromium" // Debian's; .ci/run installs it
	_, err := os.Stat(chromium)
	require.NoError(t, err, "headless Chromium is needed: apt-get install -y chromium")
	srv := httptest.NewServer(checked(t, newSecureAPI(t, &fakeSagas{}, nil, scopedAuth)))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp("", "ordersaga-docs-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	out, err := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+profile, "--virtual-time-budget=20000", "--dump-dom", srv.URL+"/docs").Output()
	require.NoError(t, err)
	dom := string(out)
	for _, want := range []string{"ordersaga API", "Place an order", "Resolve a stuck compensation by hand", "Idempotency-Key",
		"x-roles", "sagas:operate"} {
		require.True(t, strings.Contains(dom, want), "the rendered page shows %q; got:\n%.2000s", want, dom)
	}
}

// checked serves with h and checks every exchange against the contract.
func checked(t *testing.T, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ex, _ := serve(h, r.Method, r.URL.RequestURI(), "", headerPairs(r.Header)...)
		if err := checker.Check(context.Background(), ex); err != nil {
			t.Error(err)
		}
		for k, v := range rec.Result().Header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func headerPairs(h http.Header) []string {
	var out []string
	for k, v := range h {
		out = append(out, k, v[0])
	}
	return out
}
