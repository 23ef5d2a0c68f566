package strangler_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api/strangler"
)

const shadowRoutes = `
routes:
  - prefix: /v1/inventory/
    to: shadow
    ignore: [meta]
`

// legacyStock answers the monolith's view of a SKU: available units as
// given, the rest as ordersaga has it, plus fields to ignore and to redact.
func legacyStock(available int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"price_cents":250,"sku":"widget","available":%d,"reserved":0,"committed":0,"meta":{"served_at":"%s","contact_email":"ops@monolith.example"}}`,
			available, time.Now().Format(time.RFC3339Nano))
	}
}

// TestShadowComparesAndTheMonolithAnswers ensures a shadow route answers
// with the monolith, asks ordersaga the same GET, counts an equal answer
// (ignored fields aside) as same and a different one as a diff, logged
// with both bodies, sensitive fields redacted.
func TestShadowComparesAndTheMonolithAnswers(t *testing.T) {
	t.Parallel()
	var available atomic.Int64
	available.Store(7)
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) { legacyStock(int(available.Load()))(w, r) })
	g := newGateway(t, shadowRoutes, m.URL, strangler.Config{}, nil)
	key := []string{"Authorization", "Bearer " + aliceKey}

	resp, body := g.do(t, "GET", "/v1/inventory/widget", "", key...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "served_at", "the monolith answers")
	same := g.metrics.ShadowComparisons.WithLabelValues("/v1/inventory/", "same")
	eventually(t, func() bool { return testutil.ToFloat64(same) == 1 }, "an equal answer counts as same")
	require.Equal(t, 1, g.stock.count(), "ordersaga was asked")
	require.Equal(t, 0.0, testutil.ToFloat64(g.metrics.ShadowDiffs.WithLabelValues("/v1/inventory/")))

	available.Store(6)
	resp, _ = g.do(t, "GET", "/v1/inventory/widget", "", key...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	diffs := g.metrics.ShadowDiffs.WithLabelValues("/v1/inventory/")
	eventually(t, func() bool { return testutil.ToFloat64(diffs) == 1 }, "a different answer counts as a diff")
	lines := g.logLines(t, "shadow answer differs")
	require.Len(t, lines, 1)
	require.Contains(t, lines[0]["legacy_body"], `"available":6`)
	require.Contains(t, lines[0]["ordersaga_body"], `"available":7`)
	require.NotContains(t, lines[0]["legacy_body"], "ops@monolith.example")
	require.Contains(t, lines[0]["legacy_body"], `"contact_email":"[redacted]"`)
	require.EqualValues(t, 200, lines[0]["legacy_status"])
	require.Equal(t, resp.Header.Get("X-Request-ID"), lines[0]["request_id"])
	var withID int
	for _, l := range g.logLines(t, "request") {
		if l["request_id"] == lines[0]["request_id"] {
			withID++
		}
	}
	require.Equal(t, 2, withID, "the client's request and its shadow call log one request ID")
	shadowed := g.reqs.Requests.WithLabelValues("/v1/inventory/", "shadow", "GET", "200")
	require.Equal(t, 2.0, testutil.ToFloat64(shadowed), "the shadow calls are counted apart")
}

// TestShadowNeverDuplicatesUnsafeMethods ensures a POST, PUT or DELETE on
// a shadow route reaches the monolith only.
func TestShadowNeverDuplicatesUnsafeMethods(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	g := newGateway(t, shadowRoutes, m.URL, strangler.Config{}, nil)
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		resp, _ := g.do(t, method, "/v1/inventory/widget", `{"available":1,"price_cents":1}`, "Authorization", "Bearer "+aliceKey,
			"Content-Type", "application/json")
		require.Equal(t, http.StatusAccepted, resp.StatusCode, method)
	}
	require.Equal(t, 4, m.count())
	time.Sleep(100 * time.Millisecond) // a shadow call, if one were made, would have run by now
	for _, l := range g.logLines(t, "request") {
		require.NotEqual(t, "shadow", l["upstream"], "no shadow call for %v", l["method"])
	}
	require.Zero(t, g.stock.count())
}

// TestShadowNeverSlowsTheAnswer ensures the client has the monolith's
// answer while a slow ordersaga is still being asked, and the comparison
// is made afterwards.
func TestShadowNeverSlowsTheAnswer(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, legacyStock(7))
	g := newGateway(t, shadowRoutes, m.URL, strangler.Config{}, nil)
	g.stock.delay = 700 * time.Millisecond
	start := time.Now()
	resp, _ := g.do(t, "GET", "/v1/inventory/widget", "", "Authorization", "Bearer "+aliceKey)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Less(t, time.Since(start), 500*time.Millisecond, "the answer does not wait for ordersaga")
	same := g.metrics.ShadowComparisons.WithLabelValues("/v1/inventory/", "same")
	eventually(t, func() bool { return testutil.ToFloat64(same) == 1 }, "compared once ordersaga answered")
}

// TestCanaryIsStickyAndSplits ensures a canary route sends the same
// Idempotency-Key (or the same client) to the same upstream every time,
// splits distinct keys between ordersaga and the monolith, and counts
// both by route and upstream.
func TestCanaryIsStickyAndSplits(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, legacyStock(5))
	g := newGateway(t, "routes:\n  - prefix: /v1/inventory/\n    to: canary\n    percent: 50\n", m.URL, strangler.Config{}, nil)
	upstreams := map[string]int{}
	for i := range 40 {
		var first string
		for range 3 {
			_, body := g.do(t, "GET", "/v1/inventory/widget", "", "Authorization", "Bearer "+aliceKey, "Idempotency-Key", fmt.Sprintf("key-%d", i))
			up := "legacy"
			if !strings.Contains(body, "meta") {
				up = "ordersaga"
			}
			if first == "" {
				first = up
			}
			require.Equal(t, first, up, "key-%d is sticky", i)
		}
		upstreams[first]++
	}
	require.Greater(t, upstreams["ordersaga"], 5, upstreams)
	require.Greater(t, upstreams["legacy"], 5, upstreams)
	toUs := testutil.ToFloat64(g.reqs.Requests.WithLabelValues("/v1/inventory/", "ordersaga", "GET", "200"))
	toThem := testutil.ToFloat64(g.reqs.Requests.WithLabelValues("/v1/inventory/", "legacy", "GET", "200"))
	require.Equal(t, float64(3*upstreams["ordersaga"]), toUs)
	require.Equal(t, float64(3*upstreams["legacy"]), toThem)
}

// TestCanaryAtTheEnds ensures percent 0 sends everything to the monolith
// and 100 everything to ordersaga.
func TestCanaryAtTheEnds(t *testing.T) {
	t.Parallel()
	for percent, want := range map[int]string{0: "legacy", 100: "ordersaga"} {
		m := newMonolith(t, legacyStock(5))
		g := newGateway(t, fmt.Sprintf("routes:\n  - prefix: /v1/inventory/\n    to: canary\n    percent: %d\n", percent), m.URL, strangler.Config{}, nil)
		for i := range 10 {
			_, body := g.do(t, "GET", "/v1/inventory/widget", "", "Authorization", "Bearer "+aliceKey, "Idempotency-Key", fmt.Sprint(i))
			require.Equal(t, want == "legacy", strings.Contains(body, "meta"), "percent %d", percent)
		}
	}
}

// TestReloadSwapsTheTableAndKeepsItWhenTheFileIsBad ensures a reload puts a
// new file in force (rolling a route back to the monolith), and a bad file
// is refused with its line, the table in force kept.
func TestReloadSwapsTheTableAndKeepsItWhenTheFileIsBad(t *testing.T) {
	t.Parallel()
	m := newMonolith(t, legacyStock(5))
	g := newGateway(t, "routes:\n  - prefix: /v1/inventory/\n    to: ordersaga\n", m.URL, strangler.Config{}, nil)
	file := filepath.Join(t.TempDir(), "routes.yaml")
	key := []string{"Authorization", "Bearer " + aliceKey}

	_, body := g.do(t, "GET", "/v1/inventory/widget", "", key...)
	require.NotContains(t, body, "meta")
	require.NoError(t, os.WriteFile(file, []byte("legacy_url: "+m.URL+"\nroutes:\n  - prefix: /v1/inventory/\n    to: legacy\n"), 0o600))
	require.NoError(t, g.front.Reload(file))
	_, body = g.do(t, "GET", "/v1/inventory/widget", "", key...)
	require.Contains(t, body, "meta", "rolled back to the monolith")

	require.NoError(t, os.WriteFile(file, []byte("legacy_url: "+m.URL+"\nroutes:\n  - prefix: /v1/inventory/\n    to: legasy\n"), 0o600))
	err := g.front.Reload(file)
	require.ErrorContains(t, err, file+":4: route 1", "the line of the bad field")
	require.ErrorContains(t, err, `to "legasy"`)
	_, body = g.do(t, "GET", "/v1/inventory/widget", "", key...)
	require.Contains(t, body, "meta", "the table in force is kept")
	require.Len(t, g.logLines(t, "routes file refused: keeping the routes in force"), 1)
	require.Equal(t, 1.0, testutil.ToFloat64(g.metrics.Reloads.WithLabelValues("refused")))
}
