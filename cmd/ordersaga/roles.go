package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/ordersaga/ordersaga/internal/paymentsim"
	"github.com/ordersaga/ordersaga/workers"
)

// WorkerCmd runs the workers of some services.
type WorkerCmd struct {
	Services           string `env:"WORKER_SERVICES" default:"orchestrator,order,inventory,payment" help:"Comma-separated services whose workers to run: orchestrator, order, inventory, payment."`
	PaymentProviderURL string `env:"PAYMENT_PROVIDER_URL" default:"http://127.0.0.1:8090" help:"Base URL of the payment provider (payment service)."`

	TemporalFlags      `embed:""`
	RedisFlags         `embed:""`
	PaymentClientFlags `embed:""`
	WorkerFlags        `embed:""`
}

// Run runs the workers until ctx is cancelled.
func (w *WorkerCmd) Run(ctx context.Context, log *slog.Logger) error {
	services, err := workers.ParseServices(w.Services)
	if err != nil {
		return err
	}
	pool, err := openRedis(ctx, redisURLs(w.RedisFlags, services)...)
	if err != nil {
		return err
	}
	defer pool.Close()
	c, err := dialTemporal(ctx, w.TemporalFlags, log)
	if err != nil {
		return err
	}
	defer c.Close()
	pay, err := newPaymentClient(w.PaymentProviderURL, w.PaymentClientFlags, log)
	if err != nil {
		return err
	}
	group, err := startWorkers(c, services, newActivities(w.RedisFlags, pool, services, pay), w.WorkerFlags)
	if err != nil {
		return err
	}
	log.Info("workers running", "services", services, "temporal", w.TemporalAddress)
	<-ctx.Done()
	log.Info("shutting down workers")
	group.Stop()
	return nil
}

// APICmd runs the HTTP API.
type APICmd struct {
	TemporalFlags `embed:""`
	RedisFlags    `embed:""`
	SagaFlags     `embed:""`
	APIFlags      `embed:""`
}

// Run serves the API until ctx is cancelled.
func (a *APICmd) Run(ctx context.Context, log *slog.Logger) error {
	pool, err := openRedis(ctx, a.inventoryURL())
	if err != nil {
		return err
	}
	defer pool.Close()
	c, err := dialTemporal(ctx, a.TemporalFlags, log)
	if err != nil {
		return err
	}
	defer c.Close()
	srv, err := listen("api", a.APIAddr, newAPI(c, a.RedisFlags, pool, a.SagaFlags, a.APIFlags, log), log)
	if err != nil {
		return err
	}
	log.Info("api listening", "addr", srv.Addr(), "temporal", a.TemporalAddress)
	<-ctx.Done()
	return srv.Shutdown(5 * time.Second)
}

// PaymentProviderCmd runs the simulated payment provider alone.
type PaymentProviderCmd struct {
	RedisURL       string `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" help:"Redis the provider keeps its charges in."`
	RedisKeyPrefix string `env:"REDIS_KEY_PREFIX" help:"Prefix of every key, before the provider's keyspace paymentsim:."`
	ProviderFlags  `embed:""`
}

// Run serves the provider until ctx is cancelled.
func (p *PaymentProviderCmd) Run(ctx context.Context, log *slog.Logger) error {
	pool, err := openRedis(ctx, p.RedisURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	sim := paymentsim.New(pool.get(p.RedisURL), paymentsim.Config{
		Keyspace: p.RedisKeyPrefix + "paymentsim:", SlowDelay: p.ProviderSlowDelay, FlakyFailures: p.ProviderFlakyFailures,
	}, log)
	srv, err := listen("payment provider", p.ProviderAddr, sim.Handler(), log)
	if err != nil {
		return err
	}
	log.Info("payment provider listening", "addr", srv.Addr())
	<-ctx.Done()
	return srv.Shutdown(5 * time.Second)
}
