// Package temporalclient dials Temporal the way every ordersaga process
// does: one place for the connection (a Temporal CLI profile and the
// TEMPORAL_* variables, TLS and API keys), the logger and data converter,
// and for the saga's search attributes: registered once by `ordersaga
// setup`, checked without operator rights by every other role.
package temporalclient

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"

	"github.com/ordersaga/ordersaga/internal/codec"
	"github.com/ordersaga/ordersaga/internal/telemetry"
)

// Config says which Temporal to use.
type Config struct {
	// Connection is where Temporal is and how to authenticate to it.
	Connection
	// Keys, if set, encrypt every payload (see DataConverter).
	Keys *codec.Keyring
	// Metrics, if set, receives the SDK's metrics and those workflows
	// record (telemetry.NewTemporalMetrics).
	Metrics client.MetricsHandler
}

// Dial connects to Temporal and makes a first call on the namespace
// (DescribeNamespace, which a worker's least-privilege credential may make),
// all within timeout and without retrying past it: a refused credential, a
// failed TLS handshake, an unreachable server or a missing namespace is a
// *ConnectError whose message is one line naming which. The client, and the
// workers made from it, trace through the process's tracer provider (a
// no-op unless tracing is on): starting a workflow, running it and each
// activity are spans of the caller's trace, carried in Temporal headers.
func Dial(ctx context.Context, cfg Config, log *slog.Logger, timeout time.Duration) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		TextMapPropagator: telemetry.Propagator,
		// Queries are how the API reads a saga: not part of its trace.
		DisableQueryTracing: true,
		// Nothing of a caller's baggage goes into the history.
		DisableBaggage: true,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing: %w", err)
	}
	opts.Logger = tlog.NewStructuredLogger(log.With("component", "temporal-sdk"))
	opts.DataConverter = DataConverter(cfg.Keys)
	opts.MetricsHandler = cfg.Metrics
	opts.Interceptors = []interceptor.ClientInterceptor{tracing}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, classify(opts.HostPort, opts.Namespace, opts.ConnectionOptions.TLS != nil, err)
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: opts.Namespace})
	if err != nil {
		c.Close()
		return nil, classify(opts.HostPort, opts.Namespace, opts.ConnectionOptions.TLS != nil, err)
	}
	return c, nil
}

// Reachable returns a readiness check: the Temporal frontend of c answers
// a health check.
func Reachable(c client.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}

// DataConverter is the converter every process uses for payloads: the
// workers, the API and the replayer must agree on it. With keys, payloads
// are encrypted (internal/codec); without, they are plain JSON.
func DataConverter(keys *codec.Keyring) converter.DataConverter {
	if keys == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec.New(keys))
}
