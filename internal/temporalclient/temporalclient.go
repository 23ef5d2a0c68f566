// Package temporalclient dials Temporal the way every ordersaga process
// does: one place for the address, namespace, logger and data converter, and
// for registering the saga's search attributes.
package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"

	"github.com/ordersaga/ordersaga/internal/codec"
	"github.com/ordersaga/ordersaga/internal/telemetry"
	"github.com/ordersaga/ordersaga/workflows"
)

// Config says which Temporal to use.
type Config struct {
	// Address is the frontend's host:port.
	Address string
	// Namespace the sagas run in.
	Namespace string
	// Keys, if set, encrypt every payload (see DataConverter).
	Keys *codec.Keyring
	// Metrics, if set, receives the SDK's metrics and those workflows
	// record (telemetry.NewTemporalMetrics).
	Metrics client.MetricsHandler
}

// Dial connects to Temporal and checks that it answers within timeout. The
// error names the address. The client, and the workers made from it, trace
// through the process's tracer provider (a no-op unless tracing is on):
// starting a workflow, running it and each activity are spans of the
// caller's trace, carried in Temporal headers.
func Dial(ctx context.Context, cfg Config, log *slog.Logger, timeout time.Duration) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
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
	c, err := client.DialContext(ctx, client.Options{
		HostPort:       cfg.Address,
		Namespace:      cfg.Namespace,
		Logger:         tlog.NewStructuredLogger(log.With("component", "temporal-sdk")),
		DataConverter:  DataConverter(cfg.Keys),
		MetricsHandler: cfg.Metrics,
		Interceptors:   []interceptor.ClientInterceptor{tracing},
	})
	if err != nil {
		return nil, fmt.Errorf("temporal at %s is unreachable: %w", cfg.Address, err)
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

// SearchAttributes are the saga's custom search attributes with their types.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for _, k := range workflows.SearchAttributeKeys() {
		m[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}

// EnsureSearchAttributes registers the saga's search attributes in the
// namespace if they are missing. It is idempotent and safe to run from
// several processes at once.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	_, err := AddSearchAttributes(ctx, c, namespace, SearchAttributes())
	return err
}

// AddSearchAttributes registers those of attrs the namespace lacks and
// reports whether it added any (the server applies them within its
// namespace cache refresh interval). It is idempotent.
func AddSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) (bool, error) {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false, fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range attrs {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return false, fmt.Errorf("add search attributes: %w", err)
	}
	return true, nil
}
