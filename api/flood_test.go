package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/backlog"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// machine stands in for Temporal and its workers: sagas start at once and
// are worked off at capacity a second, first in, first out; the backlog is
// how long the oldest waiting saga has waited (what the sampler reads).
type machine struct {
	fakeSagas
	capacity float64
	mu       sync.Mutex
	waiting  []time.Time
	credit   float64
	last     time.Time
}

func (m *machine) Start(_ context.Context, in workflows.Input) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drain()
	m.waiting = append(m.waiting, time.Now())
	return nil
}

func (m *machine) List(context.Context, sagaclient.Filter, int, string) (sagaclient.Page, error) {
	return sagaclient.Page{}, nil
}

// drain works off what capacity allowed since the last call.
func (m *machine) drain() {
	now := time.Now()
	if !m.last.IsZero() {
		m.credit += m.capacity * now.Sub(m.last).Seconds()
	}
	m.last = now
	n := min(int(m.credit), len(m.waiting))
	m.waiting, m.credit = m.waiting[n:], m.credit-float64(n)
	if len(m.waiting) == 0 {
		m.credit = min(m.credit, 1) // idle capacity is not saved up
	}
}

func (m *machine) BacklogAge() (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drain()
	if len(m.waiting) == 0 {
		return 0, true
	}
	return time.Since(m.waiting[0]), true
}

func (m *machine) Services() ([]backlog.ServiceState, bool) { return nil, false }

// TestPoliteClientIsServedBesideAFlood floods orders from one client as
// fast as 16 connections go, for 6 s, at a machine that works off 20 sagas
// a second, with the default limits: a polite client placing 5 orders a
// second beside it gets at least 90% of them admitted, and its list reads
// answer. Without per-client limits and fair shares, admission control
// shed the polite client as often as the flood.
func TestPoliteClientIsServedBesideAFlood(t *testing.T) {
	t.Parallel()
	m := &machine{capacity: 20}
	deps := abuseDeps(t, m, m)
	h := api.New(api.Config{Auth: scopedAuth, Admission: api.Admission{MaxBacklogAge: 50 * time.Millisecond, RetryAfter: time.Second},
		Limits: api.RateLimits{WritesPerSecond: 50, WritesBurst: 100, ReadsPerSecond: 200, ReadsBurst: 400, ListCost: 10}}, deps)
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(key, body string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	const flood = 6 * time.Second
	ctx, stop := context.WithTimeout(context.Background(), flood)
	defer stop()
	var floodSent, floodAdmitted atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for ctx.Err() == nil {
				floodSent.Add(1)
				if post(otherKey, validOrder) == http.StatusAccepted {
					floodAdmitted.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Second) // the flood has built its backlog
	var sent, admitted, listed int
	tick := time.NewTicker(200 * time.Millisecond) // 5 orders a second
	defer tick.Stop()
	for ctx.Err() == nil {
		<-tick.C
		sent++
		if status := post(shopKey, validOrder); status == http.StatusAccepted {
			admitted++
		}
		if sent%5 == 0 {
			req, _ := http.NewRequest("GET", srv.URL+"/v1/orders", nil)
			req.Header.Set("Authorization", "Bearer "+shopKey)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "the polite client's list answers")
			listed++
		}
	}
	wg.Wait()
	age, _ := m.BacklogAge()
	t.Logf("polite: %d of %d admitted, %d lists; flood: %d of %d admitted (%.0f/s); backlog at the end %s",
		admitted, sent, listed, floodAdmitted.Load(), floodSent.Load(), float64(floodAdmitted.Load())/flood.Seconds(), age.Round(time.Millisecond))
	// 25 at 5 a second; fewer when each answer takes longer on a loaded
	// machine, but enough to tell 90 percent from a coin toss.
	require.GreaterOrEqual(t, sent, 10)
	require.GreaterOrEqual(t, float64(admitted), 0.9*float64(sent), "the polite client gets at least 90 percent admitted")
	require.Greater(t, floodSent.Load(), 10*floodAdmitted.Load()/9, "the flood was shed or limited")
}
