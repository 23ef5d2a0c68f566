package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/backlog"
	"github.com/ordersaga/ordersaga/api/contract"
	"github.com/ordersaga/ordersaga/api/fairshare"
	"github.com/ordersaga/ordersaga/api/ratelimit"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// abuseDeps are the dependencies of an API whose limits and shares are on
// real Redis.
func abuseDeps(t *testing.T, sagas api.Sagas, b api.Backlog) api.Deps {
	rdb, prefix := redistest.New(t)
	return api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{}, Payments: noParts{},
		Timeline: fakeTimeline{}, Backlog: b, Limiter: ratelimit.New(rdb, prefix+"ratelimit:"),
		Shares: fairshare.New(rdb, prefix+"admitted:", fairshare.Config{}),
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// TestWritesOverTheQuotaAre429WithRateLimitHeaders ensures a client's
// writes past its burst are refused 429 rate_limited with Retry-After and
// the IETF RateLimit and RateLimit-Policy fields, starting no saga, while
// another client's quota is its own and reads are counted apart.
func TestWritesOverTheQuotaAre429WithRateLimitHeaders(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{}
	h := api.New(api.Config{Auth: scopedAuth, Limits: api.RateLimits{WritesPerSecond: 0.5, WritesBurst: 3, ReadsPerSecond: 100, ReadsBurst: 100}},
		abuseDeps(t, sagas, nil))
	for range 3 {
		placeOrder(t, h, shopKey)
	}
	rec, p := send(t, h, "POST", "/v1/orders", validOrder, bearer(shopKey)...)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	require.Equal(t, api.CodeRateLimited, p.Code)
	require.Equal(t, "2", rec.Header().Get("Retry-After"), "one write refills in 2s")
	require.Equal(t, `"writes";q=3;w=6`, rec.Header().Get("RateLimit-Policy"))
	require.Equal(t, `"writes";r=0;t=6`, rec.Header().Get("RateLimit"))
	require.Len(t, sagas.started, 3)

	placeOrder(t, h, otherKey) // another client
	rec, _ = send(t, h, "GET", "/v1/orders", "", bearer(shopKey)...)
	require.Equal(t, http.StatusOK, rec.Code, "reads have their own quota")
}

// TestListsCostMoreReads ensures a list takes ListCost read units, a read
// one, and that with auth off clients are told apart by address.
func TestListsCostMoreReads(t *testing.T) {
	t.Parallel()
	h := api.New(api.Config{Limits: api.RateLimits{ReadsPerSecond: 0.01, ReadsBurst: 10, ListCost: 4}},
		abuseDeps(t, &fakeSagas{owners: map[string]string{"o1": api.Anonymous}}, nil))
	get := func(path, from string) int {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = from + ":40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.NoError(t, checker.Check(context.Background(), contract.Exchange{Request: req, Status: rec.Code,
			Header: rec.Result().Header, Body: rec.Body.Bytes()}))
		return rec.Code
	}
	require.Equal(t, 200, get("/v1/orders", "10.0.0.1"))
	require.Equal(t, 200, get("/v1/orders", "10.0.0.1"))
	require.Equal(t, 429, get("/v1/orders", "10.0.0.1"), "8 of 10 units taken: a third list does not fit")
	require.Equal(t, 200, get("/v1/orders/o1", "10.0.0.1"))
	require.Equal(t, 200, get("/v1/orders/o1", "10.0.0.1"))
	require.Equal(t, 429, get("/v1/orders/o1", "10.0.0.1"))
	require.Equal(t, 200, get("/v1/orders", "10.0.0.2"), "another address is another client")
	require.Equal(t, 200, get("/healthz", "10.0.0.1"), "probes are not limited")
}

// TestOverloadShedsTheClientAboveItsFairShare ensures that under overload
// a client that had most of the orders admitted lately is shed (429
// overloaded) while one below its fair share is admitted.
func TestOverloadShedsTheClientAboveItsFairShare(t *testing.T) {
	t.Parallel()
	b := &fakeBacklog{}
	h := api.New(api.Config{Auth: scopedAuth, Admission: api.Admission{MaxBacklogAge: 100 * time.Millisecond}},
		abuseDeps(t, &fakeSagas{}, b))
	for range 5 {
		placeOrder(t, h, shopKey)
	}
	placeOrder(t, h, otherKey)
	b.set(time.Second, true) // overloaded
	rec, p := send(t, h, "POST", "/v1/orders", validOrder, bearer(shopKey)...)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	require.Equal(t, api.CodeOverloaded, p.Code)
	require.Contains(t, p.Detail, "fair share")
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	for range 4 { // 1 of 6, 2 of 7, 3 of 8, 4 of 9: below half
		placeOrder(t, h, otherKey)
	}
	rec, _ = send(t, h, "POST", "/v1/orders", validOrder, bearer(otherKey)...)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "5 of 10 is its fair share, not below it")
}

// TestMissingServiceAcceptsOrdersUpToTheBound ensures that a service with
// no workers does not shed orders as overload: they are accepted while
// fewer than MaxWaitingOnMissing tasks wait on it, then refused 503
// service_missing naming it; /readyz stays 200, names the service missing
// and says degraded.
func TestMissingServiceAcceptsOrdersUpToTheBound(t *testing.T) {
	t.Parallel()
	b := &fakeBacklog{}
	b.set(0, true) // the backlog age counts only queues whose workers are there
	b.setServices(backlog.ServiceState{Service: "orchestrator"}, backlog.ServiceState{Service: "inventory", Waiting: 4, Missing: true})
	sagas := &fakeSagas{}
	h := api.New(api.Config{Admission: api.Admission{MaxBacklogAge: 50 * time.Millisecond, MaxWaitingOnMissing: 5}},
		abuseDeps(t, sagas, b))
	rec, _ := send(t, h, "POST", "/v1/orders", validOrder)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	rec, _ = send(t, h, "GET", "/readyz", "")
	require.Equal(t, http.StatusOK, rec.Code)
	require.JSONEq(t, `{"status":"degraded","checks":{},"workers":{"orchestrator":"ok","inventory":"missing"}}`, rec.Body.String())

	b.setServices(backlog.ServiceState{Service: "orchestrator"}, backlog.ServiceState{Service: "inventory", Waiting: 5, Missing: true})
	rec, p := send(t, h, "POST", "/v1/orders", validOrder)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, api.CodeServiceMissing, p.Code)
	require.Contains(t, p.Detail, "inventory (5 tasks waiting)")
	require.Equal(t, "5", rec.Header().Get("Retry-After"))
	require.Len(t, sagas.started, 1)
}

// fakeApprovals counts every client's orders awaiting approval as n.
type fakeApprovals struct{ n int64 }

func (f fakeApprovals) AwaitingApproval(context.Context, string) (int64, error) { return f.n, nil }

// TestOrdersAwaitingApprovalAreBoundedPerClient ensures a client with
// MaxAwaitingApproval orders awaiting approval may place no more (429
// too_many_awaiting_approval), and may below it.
func TestOrdersAwaitingApprovalAreBoundedPerClient(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]int{2: http.StatusAccepted, 3: http.StatusTooManyRequests} {
		deps := abuseDeps(t, &fakeSagas{}, nil)
		deps.Approvals = fakeApprovals{n}
		h := api.New(api.Config{Auth: scopedAuth, MaxAwaitingApproval: 3}, deps)
		rec, p := send(t, h, "POST", "/v1/orders", validOrder, bearer(shopKey)...)
		require.Equal(t, want, rec.Code, rec.Body.String())
		if want == http.StatusTooManyRequests {
			require.Equal(t, api.CodeTooManyAwaitingApproval, p.Code)
			require.Equal(t, "shop has 3 orders awaiting approval (bound 3): place more once some are approved or cancelled", p.Detail)
			require.Equal(t, "60", rec.Header().Get("Retry-After"))
		}
	}
}
