package strangler

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Metrics are the strangler's own Prometheus metrics; the requests
// themselves are counted by the gateway's request metrics, labelled by
// route and upstream. A nil *Metrics records nothing.
type Metrics struct {
	// ShadowDiffs counts the shadow comparisons that differed, by route.
	ShadowDiffs *prometheus.CounterVec
	// ShadowComparisons counts shadow calls by route and result: same,
	// diff, skipped (too many in flight) or failed (ordersaga did not
	// answer in time).
	ShadowComparisons *prometheus.CounterVec
	// LegacyFailures counts the requests the monolith did not answer, by
	// problem code.
	LegacyFailures *prometheus.CounterVec
	// BreakerOpen is 1 while the circuit on the monolith is open (0.5
	// half-open), else 0.
	BreakerOpen prometheus.Gauge
	// Reloads counts routes file reloads by result (ok, refused).
	Reloads *prometheus.CounterVec
}

// NewMetrics registers the strangler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ShadowDiffs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordersaga_shadow_diffs_total",
			Help: "Shadow comparisons where ordersaga's answer differed from the monolith's (status, or JSON body less the ignored fields), by route."}, []string{"route"}),
		ShadowComparisons: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordersaga_shadow_comparisons_total",
			Help: "Shadow calls to ordersaga, by route and result (same, diff, skipped: too many in flight, failed: no answer in time)."}, []string{"route", "result"}),
		LegacyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordersaga_legacy_failures_total",
			Help: "Requests the monolith did not answer, by the gateway's problem code (legacy_unavailable, legacy_timeout, legacy_circuit_open)."}, []string{"code"}),
		BreakerOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ordersaga_legacy_circuit_open",
			Help: "1 while the circuit breaker on the monolith is open, 0.5 half-open, 0 closed."}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordersaga_routes_reloads_total",
			Help: "Routes file reloads (SIGHUP), by result: ok, or refused (the old table is kept)."}, []string{"result"}),
	}
	reg.MustRegister(m.ShadowDiffs, m.ShadowComparisons, m.LegacyFailures, m.BreakerOpen, m.Reloads)
	return m
}

func (m *Metrics) compared(route, result string) {
	if m == nil {
		return
	}
	m.ShadowComparisons.WithLabelValues(route, result).Inc()
	if result == resultDiff {
		m.ShadowDiffs.WithLabelValues(route).Inc()
	}
}

func (m *Metrics) failed(code string) {
	if m != nil {
		m.LegacyFailures.WithLabelValues(code).Inc()
	}
}

func (m *Metrics) breaker(s gobreaker.State) {
	if m == nil {
		return
	}
	v := 0.0
	switch s {
	case gobreaker.StateOpen:
		v = 1
	case gobreaker.StateHalfOpen:
		v = 0.5
	}
	m.BreakerOpen.Set(v)
}

func (m *Metrics) reloaded(ok bool) {
	if m == nil {
		return
	}
	result := "ok"
	if !ok {
		result = "refused"
	}
	m.Reloads.WithLabelValues(result).Inc()
}
