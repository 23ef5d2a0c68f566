package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/backlog"
)

// fakeBacklog is a backlog signal the test sets.
type fakeBacklog struct {
	age      atomic.Int64 // nanoseconds
	known    atomic.Bool
	services atomic.Pointer[[]backlog.ServiceState]
}

func (f *fakeBacklog) setServices(s ...backlog.ServiceState) { f.services.Store(&s) }

func (f *fakeBacklog) Services() ([]backlog.ServiceState, bool) {
	s := f.services.Load()
	if s == nil {
		return nil, false
	}
	return *s, true
}

func (f *fakeBacklog) set(age time.Duration, known bool) {
	f.age.Store(int64(age))
	f.known.Store(known)
}

func (f *fakeBacklog) BacklogAge() (time.Duration, bool) {
	return time.Duration(f.age.Load()), f.known.Load()
}

func newAdmittingAPI(sagas *fakeSagas, backlog api.Backlog, admission api.Admission) http.Handler {
	return api.New(api.Config{MaxBodyBytes: 1024, Admission: admission}, api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{},
		Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{}, Backlog: backlog,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// TestAdmissionShedsNewOrdersPastTheBound ensures POST /v1/orders answers
// 429 overloaded with Retry-After, starting no saga, exactly while the
// backlog is known to be at or past the bound — and admits when it is
// below, unknown, or admission control is off.
func TestAdmissionShedsNewOrdersPastTheBound(t *testing.T) {
	t.Parallel()
	bound := 200 * time.Millisecond
	tests := map[string]struct {
		age        time.Duration
		known      bool
		admission  api.Admission
		shed       bool
		retryAfter string
	}{
		"no backlog":               {age: 0, known: true, admission: api.Admission{MaxBacklogAge: bound}},
		"below the bound":          {age: bound - time.Millisecond, known: true, admission: api.Admission{MaxBacklogAge: bound}},
		"at the bound":             {age: bound, known: true, admission: api.Admission{MaxBacklogAge: bound}, shed: true, retryAfter: "1"},
		"far past the bound":       {age: time.Minute, known: true, admission: api.Admission{MaxBacklogAge: bound, RetryAfter: 1500 * time.Millisecond}, shed: true, retryAfter: "2"},
		"unknown backlog":          {age: time.Minute, known: false, admission: api.Admission{MaxBacklogAge: bound}},
		"admission control is off": {age: time.Minute, known: true, admission: api.Admission{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := &fakeBacklog{}
			b.set(tc.age, tc.known)
			sagas := &fakeSagas{}
			rec, p := send(t, newAdmittingAPI(sagas, b, tc.admission), "POST", "/v1/orders", validOrder)
			if !tc.shed {
				require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
				require.Len(t, sagas.started, 1)
				return
			}
			require.Equal(t, http.StatusTooManyRequests, rec.Code)
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			require.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"))
			require.Equal(t, api.CodeOverloaded, p.Code)
			require.Contains(t, p.Detail, "behind")
			require.Empty(t, sagas.started, "a shed order starts no saga")
		})
	}
}

// TestAdmissionOnlyGuardsNewOrders ensures that past the bound the other
// routes — reads, and the actions on orders already accepted — still
// answer, and that new orders are admitted again once the backlog drains.
func TestAdmissionOnlyGuardsNewOrders(t *testing.T) {
	t.Parallel()
	b := &fakeBacklog{}
	b.set(time.Hour, true)
	sagas := &fakeSagas{owners: map[string]string{"o1": "anonymous"}}
	h := newAdmittingAPI(sagas, b, api.Admission{MaxBacklogAge: time.Second})

	rec, _ := send(t, h, "POST", "/v1/orders", validOrder)
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	rec, _ = send(t, h, "GET", "/v1/orders/o1", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rec, _ = send(t, h, "POST", "/v1/orders/o1/approve", "")
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())

	b.set(0, true)
	rec, _ = send(t, h, "POST", "/v1/orders", validOrder)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
}
