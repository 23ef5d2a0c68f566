package events_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/internal/events"
)

// TestTraceContextTravelsInTheEvent: the span context of the operation
// that wrote an event is its traceparent/tracestate (the CloudEvents
// distributed-tracing extension) and comes back out as the remote parent of
// a consumer's span, from the event or from its encoded form.
func TestTraceContextTravelsInTheEvent(t *testing.T) {
	t.Parallel()
	ts, err := trace.ParseTraceState("vendor=1")
	require.NoError(t, err)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
	})
	ev, err := events.New(events.SourceOrder, events.OrderCreated, "order-1/create_order", "order-1", "1", time.Now(), nil)
	require.NoError(t, err)
	ev.SetTraceContext(trace.ContextWithSpanContext(context.Background(), sc))
	require.Equal(t, "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01", ev.TraceParent)
	require.Equal(t, "vendor=1", ev.TraceState)

	body, err := json.Marshal(ev)
	require.NoError(t, err)
	require.Contains(t, string(body), `"traceparent":"00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"`)
	decoded, err := events.Decode(body)
	require.NoError(t, err)
	for name, ctx := range map[string]context.Context{
		"event":   decoded.TraceContext(context.Background()),
		"encoded": events.TraceContextOf(context.Background(), body),
	} {
		got := trace.SpanContextFromContext(ctx)
		require.Equal(t, sc.TraceID(), got.TraceID(), name)
		require.Equal(t, sc.SpanID(), got.SpanID(), name)
		require.True(t, got.IsRemote(), name)
		require.Equal(t, "vendor=1", got.TraceState().String(), name)
	}
}

// TestEventWithoutTraceContext: no span, no attributes, and a consumer's
// context stays as it was.
func TestEventWithoutTraceContext(t *testing.T) {
	t.Parallel()
	ev, err := events.New(events.SourceOrder, events.OrderCreated, "order-1/create_order", "order-1", "1", time.Now(), nil)
	require.NoError(t, err)
	ev.SetTraceContext(context.Background())
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NotContains(t, string(body), "traceparent")
	require.False(t, trace.SpanContextFromContext(ev.TraceContext(context.Background())).IsValid())
	require.False(t, trace.SpanContextFromContext(events.TraceContextOf(context.Background(), []byte("not json"))).IsValid())
}
