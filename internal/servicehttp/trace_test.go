package servicehttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// TestCallsJoinTheCallersTrace: a call is a client span of the caller's
// trace, and the service's handling a server span under it (traceparent
// crosses the wire); probes are not traced. Not parallel: it sets the
// process's tracer provider.
func TestCallsJoinTheCallersTrace(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	otel.SetTracerProvider(tp)

	r := servicehttp.NewRouter("", quiet)
	r.Open("GET", "/things/{id}", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	r.Open("GET", "/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c, err := servicehttp.NewClient(servicehttp.ClientConfig{Service: "order", BaseURL: srv.URL}, quiet)
	require.NoError(t, err)

	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	require.NoError(t, c.Get(ctx, "/things/a", nil))
	caller.End()
	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	_ = resp.Body.Close()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = s
	}
	require.Len(t, byName, 3, "caller, the call, the serving; no probe: %v", byName)
	call, served := byName["order GET"], byName["serve GET"]
	require.NotNil(t, call)
	require.NotNil(t, served)
	trace := caller.SpanContext().TraceID()
	require.Equal(t, trace, call.SpanContext().TraceID())
	require.Equal(t, trace, served.SpanContext().TraceID(), "traceparent crossed the wire")
	require.Equal(t, caller.SpanContext().SpanID(), call.Parent().SpanID())
	require.Equal(t, call.SpanContext().SpanID(), served.Parent().SpanID())
}
