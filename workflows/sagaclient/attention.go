package sagaclient

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/workflows"
)

// AttentionQuery is the visibility query of the sagas that need attention:
// running, with a compensation failing past its bound (SagaStatus FAILED).
var AttentionQuery = `WorkflowType = "` + workflows.WorkflowName + `" AND ExecutionStatus = "Running" AND ` +
	workflows.SagaStatusKey.GetName() + ` = "` + string(workflows.StatusFailed) + `"`

// AttentionCollector is the Prometheus gauge ordersaga_sagas_needing_attention:
// the sagas of AttentionQuery, counted by Temporal's visibility, so it is
// the same in every process that serves it. A count is reused for
// MaxAge: however often /metrics is fetched, visibility is asked at most
// once per MaxAge. When Temporal does not answer within Timeout the scrape
// leaves the gauge out (and logs why) rather than report a wrong number.
type AttentionCollector struct {
	c       client.Client
	log     *slog.Logger
	desc    *prometheus.Desc
	Timeout time.Duration
	MaxAge  time.Duration

	mu      sync.Mutex // held while counting: concurrent scrapes share one count
	count   int64
	counted time.Time
}

var _ prometheus.Collector = (*AttentionCollector)(nil)

// NewAttentionCollector returns the collector counting through c.
func NewAttentionCollector(c client.Client, log *slog.Logger) *AttentionCollector {
	return &AttentionCollector{c: c, log: log, Timeout: 2 * time.Second, MaxAge: 10 * time.Second, desc: prometheus.NewDesc(
		"ordersaga_sagas_needing_attention",
		"Running sagas whose SagaStatus is FAILED: a compensation keeps failing past its bound (it keeps retrying).",
		nil, nil)}
}

// Describe implements prometheus.Collector.
func (a *AttentionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

// Collect implements prometheus.Collector.
func (a *AttentionCollector) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counted.IsZero() || time.Since(a.counted) >= a.MaxAge {
		ctx, cancel := context.WithTimeout(context.Background(), a.Timeout)
		defer cancel()
		resp, err := a.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: AttentionQuery})
		if err != nil {
			a.log.Warn("count the sagas needing attention", "error", err)
			return
		}
		a.count, a.counted = resp.GetCount(), time.Now()
	}
	ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, float64(a.count))
}
