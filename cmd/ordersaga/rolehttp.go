package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/workers"
)

// roleHTTP is what a role serves on its --http-addr: GET /healthz,
// GET /readyz (its checks), GET /metrics (its registry), all open, and the
// APIs of the services it runs behind the service token. Add checks and
// collectors before serve.
type roleHTTP struct {
	checks []servicehttp.Check
	reg    *prometheus.Registry
	// apis, if set, registers the services' APIs.
	apis func(r *servicehttp.Router)
}

// serve starts the listener on addr; token ("" for none) guards the
// services' APIs.
func (h roleHTTP) serve(addr, token string, hf HTTPFlags, log *slog.Logger) (*httpServer, error) {
	r := servicehttp.NewRouter(token, log)
	r.Open(http.MethodGet, "/healthz", servicehttp.Healthz())
	r.Open(http.MethodGet, "/readyz", servicehttp.Readyz(namedOnly(h.checks, log)))
	r.Open(http.MethodGet, "/metrics", metricsHandler(h.reg))
	if h.apis != nil {
		h.apis(r)
	}
	return listen("http", addr, r, hf, log)
}

// errFailing is what an open /readyz says of a failing check.
var errFailing = errors.New("failing")

// namedOnly wraps checks so that a failing one answers just "failing": the
// probe is open, and a dependency's error names its address. The error
// itself goes to log.
func namedOnly(checks []servicehttp.Check, log *slog.Logger) []servicehttp.Check {
	out := make([]servicehttp.Check, len(checks))
	for i, c := range checks {
		out[i] = servicehttp.Check{Name: c.Name, Fn: func(ctx context.Context) error {
			if err := c.Fn(ctx); err != nil {
				log.WarnContext(ctx, "readiness check failed", "check", c.Name, "error", err)
				return errFailing
			}
			return nil
		}}
	}
	return out
}

// rabbitCheck is the readiness check of RabbitMQ: a connection opens. It is
// named, not described by its URL: /readyz is open.
func rabbitCheck(f RabbitFlags) servicehttp.Check {
	return servicehttp.Check{Name: "rabbitmq", Fn: func(ctx context.Context) error {
		return broker.Reachable(ctx, f.RabbitMQURL)
	}}
}

// pollersCheck is the readiness check of this process's workers: Temporal
// has seen each of their task queues polled by them lately.
func pollersCheck(c client.Client, services []workers.Service) servicehttp.Check {
	return servicehttp.Check{Name: "pollers", Fn: workers.PollersRunning(c, workers.Identity(), services)}
}
