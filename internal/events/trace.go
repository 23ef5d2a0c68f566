package events

import (
	"bytes"
	"context"
	"encoding/json"

	"go.opentelemetry.io/otel/propagation"
)

// traceContext is the W3C trace context format of the CloudEvents
// distributed-tracing extension (traceparent, tracestate).
var traceContext propagation.TraceContext

// SetTraceContext records the span context of ctx in the event's
// traceparent and tracestate; without a valid span it leaves them empty.
func (e *Event) SetTraceContext(ctx context.Context) {
	traceContext.Inject(ctx, (*carrier)(e))
}

// TraceContext returns ctx carrying the event's trace context as its remote
// parent, so a consumer's span joins the trace of the operation that wrote
// the event. Without one it returns ctx as it is.
func (e Event) TraceContext(ctx context.Context) context.Context {
	return traceContext.Extract(ctx, (*carrier)(&e))
}

// TraceContextOf is TraceContext for an encoded event, reading only its
// tracing attributes; a body without them, or undecodable, yields ctx as
// it is.
func TraceContextOf(ctx context.Context, body []byte) context.Context {
	if !bytes.Contains(body, []byte(`"traceparent"`)) {
		return ctx // most events when tracing is off: no decoding
	}
	var e struct {
		TraceParent string `json:"traceparent"`
		TraceState  string `json:"tracestate"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ctx
	}
	return Event{TraceParent: e.TraceParent, TraceState: e.TraceState}.TraceContext(ctx)
}

// carrier maps the W3C headers onto the event's extension attributes.
type carrier Event

var _ propagation.TextMapCarrier = (*carrier)(nil)

func (c *carrier) Get(key string) string {
	switch key {
	case "traceparent":
		return c.TraceParent
	case "tracestate":
		return c.TraceState
	}
	return ""
}

func (c *carrier) Set(key, value string) {
	switch key {
	case "traceparent":
		c.TraceParent = value
	case "tracestate":
		c.TraceState = value
	}
}

func (c *carrier) Keys() []string { return []string{"traceparent", "tracestate"} }
