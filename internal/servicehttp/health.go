package servicehttp

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga"
)

// Check is one readiness check: a dependency that must answer.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// CheckTimeout bounds each readiness check.
const CheckTimeout = 2 * time.Second

// RunChecks runs checks concurrently, each bounded by CheckTimeout, and
// returns each one's outcome by name ("ok" or its error) and whether all
// passed.
func RunChecks(ctx context.Context, checks []Check) (map[string]string, bool) {
	out := make(map[string]string, len(checks))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	ok := true
	for _, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			err := c.Fn(cctx)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out[c.Name], ok = err.Error(), false
				return
			}
			out[c.Name] = "ok"
		})
	}
	wg.Wait()
	return out, ok
}

// Healthz answers liveness: 200 {"status":"ok"} while the process serves.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Readyz answers readiness: 200 {"status":"ready","checks":{…}} when every
// check passes, otherwise a 503 problem listing each check's outcome.
func Readyz(checks []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outcomes, ok := RunChecks(r.Context(), checks)
		if !ok {
			p := NewProblem(http.StatusServiceUnavailable, ordersaga.EUNAVAILABLE, "a dependency is not reachable")
			p.Checks = outcomes
			WriteProblem(w, r, p)
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": outcomes})
	})
}
