package telemetry_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/telemetry"
)

// TestTemporalMetricsFollowPrometheusConventions: what the SDK and the
// workflow record through the handler lands in the registry under
// Prometheus names (counters _total, timers _seconds histograms), with the
// tags as labels and nothing else added.
func TestTemporalMetricsFollowPrometheusConventions(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h, err := telemetry.NewTemporalMetrics(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)

	h.WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"outcome": "completed"}).Counter("ordersaga_sagas_ended_total").Inc(1)
	h.Timer("temporal_workflow_endtoend_latency").Record(1500 * time.Millisecond)
	h.WithTags(map[string]string{"outcome": "completed"}).Timer("ordersaga_saga_duration_seconds").Record(3 * time.Second)
	h.Gauge("temporal_num_pollers").Update(2)

	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	want := map[string]dto.MetricType{
		"temporal_request_total":                     dto.MetricType_COUNTER,
		"ordersaga_sagas_ended_total":                dto.MetricType_COUNTER,
		"temporal_workflow_endtoend_latency_seconds": dto.MetricType_HISTOGRAM,
		"ordersaga_saga_duration_seconds":            dto.MetricType_HISTOGRAM,
		"temporal_num_pollers":                       dto.MetricType_GAUGE,
	}
	require.Len(t, got, len(want), "only what was recorded: %v", keys(got))
	for name, typ := range want {
		require.Contains(t, got, name)
		require.Equal(t, typ, got[name].GetType(), name)
	}
	ended := got["ordersaga_sagas_ended_total"].GetMetric()[0]
	require.Equal(t, 1.0, ended.GetCounter().GetValue())
	require.Len(t, ended.GetLabel(), 1, "no scope labels")
	require.Equal(t, "outcome", ended.GetLabel()[0].GetName())
	hist := got["ordersaga_saga_duration_seconds"].GetMetric()[0].GetHistogram()
	require.Equal(t, 3.0, hist.GetSampleSum(), "recorded in seconds")
	require.Len(t, hist.GetBucket(), len(telemetry.DurationBuckets))
}

func keys(m map[string]*dto.MetricFamily) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
