// Package telemetry sets up what an ordersaga process tells about itself:
// OpenTelemetry traces, configured by the standard OTEL_* environment
// variables, the Temporal SDK's metrics in the process's Prometheus
// registry, and the W3C trace context that domain events carry from the
// activity that wrote them to the consumers that apply them.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Propagator is the W3C trace context propagator every ordersaga process
// uses, on HTTP, in Temporal headers and in events. Baggage is left out on
// purpose: a caller's baggage header would otherwise be copied into the
// saga's start and every activity's headers, stored in its history.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// TracingEnabled reports whether the environment asks for traces: an
// OTEL_TRACES_EXPORTER other than "none", or an OTLP endpoint, and
// OTEL_SDK_DISABLED not "true".
func TracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch exp := getenv("OTEL_TRACES_EXPORTER"); exp {
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	case "none":
		return false
	default:
		return true
	}
}

// SetupTracing installs the W3C propagator and, when TracingEnabled, a
// global tracer provider exporting as the OTEL_* variables say
// (OTEL_TRACES_EXPORTER otlp, console or none; OTEL_EXPORTER_OTLP_ENDPOINT
// and _PROTOCOL; OTEL_SERVICE_NAME, which defaults to service;
// OTEL_RESOURCE_ATTRIBUTES). Otherwise it leaves the global tracer provider
// as it is: a no-op, unless a test installed its own. An exporter the
// variables cannot make is an error naming them.
//
// The returned function flushes the spans still buffered and shuts the
// provider down; it is a no-op when tracing is off.
func SetupTracing(ctx context.Context, service string, log *slog.Logger) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(Propagator)
	if !TracingEnabled(os.Getenv) {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing (OTEL_TRACES_EXPORTER=%q): %w", os.Getenv("OTEL_TRACES_EXPORTER"), err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
		resource.WithHost(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("opentelemetry", "error", err) }))
	log.Info("tracing on", "exporter", or(os.Getenv("OTEL_TRACES_EXPORTER"), "otlp"), "service", serviceName(res, service))
	return tp.Shutdown, nil
}

func serviceName(res *resource.Resource, fallback string) string {
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok {
		return v.AsString()
	}
	return fallback
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}
