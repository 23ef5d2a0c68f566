package outbox

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the relays' Prometheus metrics, labelled by outbox name.
// A nil *Metrics records nothing.
type Metrics struct {
	Published *prometheus.CounterVec
	Failed    *prometheus.CounterVec
	Lag       *prometheus.GaugeVec
}

// NewMetrics registers the relay metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordersaga_outbox_published_total",
			Help: "Outbox entries confirmed by the broker and deleted."}, []string{"outbox"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordersaga_outbox_publish_failures_total",
			Help: "Outbox publishes not confirmed (nacked, timed out or cut off); they are republished."}, []string{"outbox"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ordersaga_outbox_lag_seconds",
			Help: "Age of the oldest unpublished outbox entry."}, []string{"outbox"}),
	}
	reg.MustRegister(m.Published, m.Failed, m.Lag)
	return m
}

// init makes the relay name's series show at zero from the start, so a
// rate over them is defined before the first publish or failure.
func (m *Metrics) init(name string) {
	if m != nil {
		m.Published.WithLabelValues(name)
		m.Failed.WithLabelValues(name)
	}
}

func (m *Metrics) published(name string, n int) {
	if m != nil {
		m.Published.WithLabelValues(name).Add(float64(n))
	}
}

func (m *Metrics) failed(name string, n int) {
	if m != nil {
		m.Failed.WithLabelValues(name).Add(float64(n))
	}
}

func (m *Metrics) lag(name string, d time.Duration) {
	if m != nil {
		m.Lag.WithLabelValues(name).Set(d.Seconds())
	}
}
