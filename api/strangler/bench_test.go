package strangler_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/ordersaga/ordersaga/api/strangler"
)

// BenchmarkLegacyRoute measures a GET to the monolith through the gateway
// (key check, proxy) against the same GET sent to the monolith directly.
func BenchmarkLegacyRoute(b *testing.B) {
	m := newMonolith(b, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) })
	g := newGateway(b, legacyRoutes, m.URL, strangler.Config{}, nil)
	for name, url := range map[string]string{"direct": m.URL + "/legacy/x", "gateway": g.URL + "/legacy/x"} {
		b.Run(name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+aliceKey)
			for b.Loop() {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
