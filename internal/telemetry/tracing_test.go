package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/telemetry"
)

// TestTracingIsOffUnlessAskedFor: only an exporter other than none, or an
// OTLP endpoint, turns tracing on; OTEL_SDK_DISABLED turns it off.
func TestTracingIsOffUnlessAskedFor(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env map[string]string
		on  bool
	}{
		"nothing set":         {map[string]string{}, false},
		"none":                {map[string]string{"OTEL_TRACES_EXPORTER": "none"}, false},
		"console":             {map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
		"otlp":                {map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		"an endpoint alone":   {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, true},
		"a traces endpoint":   {map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces"}, true},
		"none beats endpoint": {map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, false},
		"sdk disabled":        {map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, false},
	} {
		require.Equal(t, tc.on, telemetry.TracingEnabled(func(k string) string { return tc.env[k] }), name)
	}
}

// TestUnknownExporterIsAnErrorNamingIt: a typo fails the start with one
// line naming the variable, rather than tracing nothing.
func TestUnknownExporterIsAnErrorNamingIt(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "jaegr")
	_, err := telemetry.SetupTracing(context.Background(), "ordersaga-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, `OTEL_TRACES_EXPORTER="jaegr"`)
}
