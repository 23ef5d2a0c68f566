package timeline

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/internal/events"
)

// Outcomes of a delivery, as the projector's metric labels them.
const (
	outcomeApplied      = "applied"
	outcomeDuplicate    = "duplicate"
	outcomeDeadLettered = "dead_lettered"
	outcomeRequeued     = "requeued"
	outcomeSkipped      = "skipped"
)

// Metrics are the projector's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	// Deliveries counts deliveries by outcome: applied, duplicate (an event
	// seen before, dropped), dead_lettered, requeued (handed back after
	// failing Config.Attempts times), skipped (an event about no saga, such
	// as inventory.restocked, acknowledged unwritten).
	Deliveries *prometheus.CounterVec
}

// NewMetrics registers the projector's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ordersaga_projector_events_total",
		Help: "Deliveries the timeline projector settled, by outcome: applied, duplicate, dead_lettered, requeued, skipped.",
	}, []string{"outcome"})}
	for _, o := range []string{outcomeApplied, outcomeDuplicate, outcomeDeadLettered, outcomeRequeued, outcomeSkipped} {
		m.Deliveries.WithLabelValues(o) // every outcome shows, at zero
	}
	reg.MustRegister(m.Deliveries)
	return m
}

func (m *Metrics) delivered(outcome string) {
	if m != nil {
		m.Deliveries.WithLabelValues(outcome).Inc()
	}
}

// newTracer returns the tracer of the projector's spans: the process's
// tracer provider's when the projector is made (a no-op unless tracing is
// on).
func newTracer() trace.Tracer { return otel.Tracer("github.com/ordersaga/ordersaga/services/timeline") }

// startApply starts the span of applying ev: a child of the trace context
// the event carries, so it ends the saga step's trace.
func (p *Projector) startApply(ctx context.Context, ev events.Event) (context.Context, trace.Span) {
	return p.tracer.Start(ev.TraceContext(ctx), "process "+ev.Type,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemRabbitMQ,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(p.cfg.Queue),
			semconv.MessagingMessageID(ev.ID),
			attribute.String("ordersaga.order_id", ev.Subject),
		))
}

// endApply ends an apply span with the delivery's outcome.
func endApply(span trace.Span, outcome string, err error) {
	span.SetAttributes(attribute.String("ordersaga.outcome", outcome))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
