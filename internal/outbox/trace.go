package outbox

import (
	"context"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/internal/events"
)

// newTracer returns the tracer of publish spans: the process's tracer
// provider's when the relay is made (a no-op unless tracing is on).
func newTracer() trace.Tracer { return otel.Tracer("github.com/ordersaga/ordersaga/internal/outbox") }

// startPublish starts the span of publishing msg, a child of the trace
// context its event carries (the activity that wrote it).
func (r *Relay) startPublish(ctx context.Context, msg amqp.Publishing, key string) trace.Span {
	_, span := r.tracer.Start(events.TraceContextOf(ctx, msg.Body), "publish "+key,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			semconv.MessagingSystemRabbitMQ,
			semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(r.cfg.Topology.EventsExchange()),
			semconv.MessagingRabbitMQDestinationRoutingKey(key),
			semconv.MessagingMessageID(msg.MessageId),
		))
	return span
}

// endPublish ends a publish span with the broker's answer: err is set when
// the publish was not confirmed (it will be republished).
func endPublish(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
