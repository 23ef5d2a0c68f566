package backlog

import "github.com/prometheus/client_golang/prometheus"

// missingDesc is ordersaga_service_workers_missing.
var missingDesc = prometheus.NewDesc("ordersaga_service_workers_missing",
	"1 while a service has no workers: its tasks wait and no worker has polled its task queue since the oldest came (for at least the sampler's MissingAfter); 0 otherwise. Absent while the backlog is unknown.",
	[]string{"service"}, nil)

// Collector returns the Prometheus collector of the sampler's view of the
// services: ordersaga_service_workers_missing{service}, from the last
// sample (none while it is stale).
func (s *Sampler) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Sampler }

func (c collector) Describe(ch chan<- *prometheus.Desc) { ch <- missingDesc }

func (c collector) Collect(ch chan<- prometheus.Metric) {
	services, ok := c.s.Services()
	if !ok {
		return
	}
	for _, st := range services {
		v := 0.0
		if st.Missing {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(missingDesc, prometheus.GaugeValue, v, st.Service)
	}
}
