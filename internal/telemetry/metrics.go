package telemetry

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// DurationBuckets are the histogram buckets, in seconds, of every timer the
// Temporal SDK handler records: from a 5 ms activity to a saga that waited
// a day for its approval.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400}

// NewTemporalMetrics returns a Temporal SDK metrics handler that records
// into reg: the SDK's own metrics (temporal_*) and those the workflow
// records through workflow.GetMetricsHandler, which the SDK skips while a
// workflow replays. Names follow Prometheus conventions: counters end in
// _total, timers are histograms in seconds ending in _seconds (a name that
// already ends so keeps its name). An instrument shows once it has recorded
// a value. Errors creating an instrument are logged, never raised.
func NewTemporalMetrics(reg prometheus.Registerer, log *slog.Logger) (client.MetricsHandler, error) {
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutTargetInfo(),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exp),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: DurationBuckets}},
		)),
	)
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                mp.Meter("go.temporal.io/sdk"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { log.Warn("temporal metric", "error", err) },
	}), nil
}
