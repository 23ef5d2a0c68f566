package workflows_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/telemetry"
	"github.com/ordersaga/ordersaga/saga"
	"github.com/ordersaga/ordersaga/workflows"
)

// samples returns the registry's samples as "name{label=value,...}" →
// value (a histogram's count).
func samples(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			key += "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestDeclinedSagaRecordsItsMetrics: a declined saga counts as started and
// ended compensated, with each step's outcome and attempts and each
// compensation.
func TestDeclinedSagaRecordsItsMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	handler, err := telemetry.NewTemporalMetrics(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	h := newHarness(t, func(s *testsuite.WorkflowTestSuite) { s.SetMetricsHandler(handler) })
	h.declineWithFlakyRelease()
	st, err := h.run(input(5000))
	require.NoError(t, err)
	require.Equal(t, workflows.StatusCompensated, st.Status)

	got := samples(t, reg)
	for key, want := range map[string]float64{
		"ordersaga_sagas_started_total{}":                                           1,
		"ordersaga_sagas_ended_total{outcome=compensated}":                          1,
		"ordersaga_saga_duration_seconds{outcome=compensated}":                      1,
		"ordersaga_step_duration_seconds{outcome=completed,step=create_order}":      1,
		"ordersaga_step_attempts_total{outcome=completed,step=reserve_inventory}":   1,
		"ordersaga_step_attempts_total{outcome=failed,step=charge_payment}":         1,
		"ordersaga_compensations_total{outcome=compensated,step=reserve_inventory}": 1,
		"ordersaga_compensations_total{outcome=compensated,step=create_order}":      1,
		"ordersaga_compensation_attempts_total{step=reserve_inventory}":             3,
		"ordersaga_compensation_attempts_total{step=create_order}":                  1,
	} {
		require.Equal(t, want, got[key], key)
	}
	require.NotContains(t, got, "ordersaga_sagas_ended_total{outcome=completed}")
	for key := range got {
		require.NotContains(t, key, "o1", "no order IDs in labels")
	}
}

// TestDetailsShowStatusStepsTotalAndReason: the Web UI's current details
// read as the saga's state.
func TestDetailsShowStatusStepsTotalAndReason(t *testing.T) {
	t.Parallel()
	st := workflows.State{TotalCents: 5025, Progress: saga.Progress{
		Status: workflows.StatusCompensating, FailureReason: "card declined",
		Steps: []workflows.StepState{
			{Name: workflows.StepCreateOrder, Status: workflows.StepCompensating},
			{Name: workflows.StepReserveInventory, Status: workflows.StepCompensating},
			{Name: workflows.StepChargePayment, Status: workflows.StepFailed},
		},
	}}
	require.Equal(t, "**COMPENSATING**: card declined\n\nIn progress: compensate create_order, compensate reserve_inventory\n\nTotal: $50.25",
		workflows.Details(st))
	require.Equal(t, "**RUNNING**\n\nIn progress: action charge_payment", workflows.Details(workflows.State{Progress: saga.Progress{
		Status: workflows.StatusRunning, Steps: []workflows.StepState{{Name: workflows.StepChargePayment, Status: workflows.StepRunning}}}}))
}

func TestSummaryNamesTheOrderAndItsItems(t *testing.T) {
	t.Parallel()
	in := workflows.Input{OrderID: "o1", Items: []ordersaga.Item{{SKU: "widget", Quantity: 2}}}
	require.Equal(t, "Order o1: 2× widget", workflows.Summary(in))
	in.Items = []ordersaga.Item{{SKU: "a", Quantity: 1}, {SKU: "b", Quantity: 2}, {SKU: "c", Quantity: 3}, {SKU: "d", Quantity: 4}, {SKU: "e", Quantity: 5}}
	require.Equal(t, "Order o1: 1× a, 2× b, 3× c, +2 more", workflows.Summary(in))
	in.ClientID = "shop"
	details := workflows.StaticDetails(in)
	require.Contains(t, details, "| e | 5 |", "the details list every line")
	require.Contains(t, details, "Placed by shop")
}
