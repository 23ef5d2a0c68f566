package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/placement"
	"github.com/ordersaga/ordersaga/api/strangler"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// StranglerFlags put the gateway in front of a monolith (docs/migrating.md):
// a routes file says which paths the monolith still answers.
type StranglerFlags struct {
	RoutesFile            string        `name:"routes" env:"ROUTES_FILE" placeholder:"FILE" help:"YAML routes file putting the gateway in front of a monolith: legacy_url and, per path prefix, legacy, ordersaga, shadow or canary (docs/migrating.md). Reloaded on SIGHUP; a bad file is refused (at start: the process does not start; on reload: the routes in force are kept). Empty: every path is ordersaga's."`
	LegacyDialTimeout     time.Duration `env:"LEGACY_DIAL_TIMEOUT" default:"2s" help:"Time to connect to the monolith, TLS included."`
	LegacyTimeout         time.Duration `env:"LEGACY_TIMEOUT" default:"10s" help:"Time the monolith has to send its response headers; past it the gateway answers 504 legacy_timeout. Keep it below --http-write-timeout."`
	LegacyIdleTimeout     time.Duration `env:"LEGACY_IDLE_TIMEOUT" default:"90s" help:"How long an idle keep-alive connection to the monolith stays open."`
	LegacyBreakerFailures uint32        `env:"LEGACY_BREAKER_FAILURES" default:"5" help:"Consecutive monolith failures (no answer; 502, 503 or 504) that open the circuit breaker: then 503 legacy_circuit_open with Retry-After, without calling it."`
	LegacyBreakerOpen     time.Duration `env:"LEGACY_BREAKER_OPEN" default:"5s" help:"How long the circuit on the monolith stays open before a trial call."`
	PlacementFlags        `embed:""`
}

// PlacementFlags let the monolith start sagas by publishing
// order.placement_requested events (docs/events.md).
type PlacementFlags struct {
	PlacementQueue  string `env:"PLACEMENT_QUEUE" help:"Consume order.placement_requested events (the monolith's command to place an order) from this durable queue on --rabbitmq-url and start a saga for each; empty: off. Idempotent by event ID; bad events are dead-lettered with a reason."`
	PlacementClient string `env:"PLACEMENT_CLIENT" default:"monolith" help:"Client the orders placed by events are recorded as placed by (their owner, as an API key's client)."`
}

// startPlacement runs, in bg, the consumer of the monolith's placement
// events, starting sagas as the gateway does (same options, same
// encryption of customer IDs); off without --placement-queue.
func startPlacement(ctx context.Context, bg *background, c client.Client, pf PlacementFlags, cf CodecFlags, rf RabbitFlags, log *slog.Logger) error {
	if pf.PlacementQueue == "" {
		return nil
	}
	keys, err := cf.keyring()
	if err != nil {
		return err
	}
	sagas := sagaclient.New(c)
	if keys != nil {
		sagas.CustomerRefs = keys.Refs
	}
	consumer, err := placement.New(placement.Config{URL: rf.RabbitMQURL, Queue: pf.PlacementQueue, Topology: rf.topology(),
		ClientID: pf.PlacementClient}, sagas, log)
	if err != nil {
		return fmt.Errorf("--placement-queue: %w", err)
	}
	if err := consumer.Declare(ctx); err != nil {
		return err
	}
	bg.Go(consumer.Run, log, "placement consumer")
	log.Info("placement events consumed", "queue", pf.PlacementQueue, "client", pf.PlacementClient)
	return nil
}

// front loads the routes file and serves it, reloading it on SIGHUP until
// bg stops; nil (no front) without a routes file. A bad file is an error
// naming its line.
func (f StranglerFlags) front(bg *background, reg prometheus.Registerer, log *slog.Logger) (api.Front, error) {
	if f.RoutesFile == "" {
		return nil, nil
	}
	table, err := strangler.LoadFile(f.RoutesFile)
	if err != nil {
		return nil, fmt.Errorf("--routes: %w", err)
	}
	s := strangler.New(strangler.Config{
		DialTimeout: f.LegacyDialTimeout, ResponseTimeout: f.LegacyTimeout, IdleTimeout: f.LegacyIdleTimeout,
		BreakerFailures: f.LegacyBreakerFailures, BreakerOpen: f.LegacyBreakerOpen, Metrics: strangler.NewMetrics(reg),
	}, table, log.With("component", "strangler"))
	// Notified before front returns: a SIGHUP from now on reloads, never
	// kills the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	bg.Go(func(ctx context.Context) error { return reloadOnHangup(ctx, hup, s, f.RoutesFile) }, log, "routes reloader")
	log.Info("routes file loaded", "file", f.RoutesFile, "routes", len(table.Routes()))
	return s, nil
}

// reloadOnHangup reloads the routes file at each signal on hup until ctx
// ends, then stops hup's notifications (a refused file is logged by Reload
// and the routes in force kept).
func reloadOnHangup(ctx context.Context, hup chan os.Signal, s *strangler.Strangler, file string) error {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			_ = s.Reload(file)
		}
	}
}
