package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/devserver"
	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/paymentsim"
	"github.com/ordersaga/ordersaga/internal/redisstore"
	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/workers"
)

// DevCmd runs the whole product in one process.
type DevCmd struct {
	DataDir           string `env:"DATA_DIR" default:"./.data" help:"Directory of the embedded Temporal server's SQLite file; sagas survive a restart."`
	TemporalAddress   string `env:"TEMPORAL_ADDRESS" help:"Use this existing Temporal cluster (host:port) instead of the embedded server."`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE" default:"default" help:"Temporal namespace."`
	TemporalPort      int    `env:"TEMPORAL_PORT" default:"7233" help:"Port of the embedded Temporal frontend (gRPC)."`
	UIPort            int    `name:"ui-port" env:"TEMPORAL_UI_PORT" default:"8233" help:"Port of the embedded Temporal Web UI (negative: no UI)."`
	Seed              bool   `env:"SEED_CATALOG" default:"true" negatable:"" help:"Create the demo catalog's SKUs that do not exist yet."`

	RedisFlags         `embed:""`
	RabbitFlags        `embed:""`
	TimelineFlags      `embed:""`
	SagaFlags          `embed:""`
	PaymentClientFlags `embed:""`
	ProviderFlags      `embed:""`
	APIFlags           `embed:""`
	WorkerFlags        `embed:""`
}

// demoCatalog is what `dev` seeds: two gizmos reach the default approval
// threshold; last-one has a single unit.
var demoCatalog = []ordersaga.Stock{
	{SKU: "widget", Available: 100, PriceCents: 2500},
	{SKU: "gadget", Available: 50, PriceCents: 12000},
	{SKU: "gizmo", Available: 10, PriceCents: 60000},
	{SKU: "last-one", Available: 1, PriceCents: 5000},
}

// Run runs until ctx is cancelled, then shuts down in reverse order.
func (d *DevCmd) Run(ctx context.Context, log *slog.Logger) error {
	pool, err := openRedis(ctx, d.orderURL(), d.inventoryURL(), d.paymentURL(), d.timelineURL())
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := checkRabbit(ctx, d.RabbitFlags); err != nil {
		return err
	}

	tf := TemporalFlags{TemporalAddress: d.TemporalAddress, TemporalNamespace: d.TemporalNamespace}
	var srv *devserver.Server
	if d.TemporalAddress == "" {
		srv, err = devserver.Start(devserver.Config{
			DataDir:          d.DataDir,
			FrontendPort:     d.TemporalPort,
			UIPort:           d.UIPort,
			Namespace:        d.TemporalNamespace,
			SearchAttributes: temporalclient.SearchAttributes(),
			Logger:           log,
		})
		if err != nil {
			return err
		}
		defer srv.Stop()
		tf.TemporalAddress = srv.FrontendAddress()
	}
	c, err := dialTemporal(ctx, tf, log)
	if err != nil {
		return err
	}
	defer c.Close()

	provider, err := listen("payment provider", d.ProviderAddr, paymentsim.New(pool.get(d.paymentURL()), paymentsim.Config{
		Keyspace: d.RedisKeyPrefix + "paymentsim:", SlowDelay: d.ProviderSlowDelay, FlakyFailures: d.ProviderFlakyFailures,
	}, log).Handler(), log)
	if err != nil {
		return err
	}
	defer provider.Shutdown(5 * time.Second)

	if d.Seed {
		if err := seed(ctx, redisstore.NewInventory(pool.get(d.inventoryURL()), d.keyspace("inventory")), log); err != nil {
			return err
		}
	}
	pay, err := newPaymentClient("http://"+provider.Addr(), d.PaymentClientFlags, log)
	if err != nil {
		return err
	}
	reg := newRegistry()
	bg := newBackground()
	defer bg.Stop() // after the workers: what they wrote is relayed, or kept for the next start
	if err := startProjector(ctx, bg, newTimeline(d.RedisFlags, pool), d.RabbitFlags, d.TimelineFlags, log); err != nil {
		return err
	}
	if _, err := startRelays(bg, workers.All, d.RedisFlags, pool, d.RabbitFlags, outbox.NewMetrics(reg), log); err != nil {
		return err
	}
	group, err := startWorkers(c, workers.All, newActivities(d.RedisFlags, pool, workers.All, pay), d.WorkerFlags)
	if err != nil {
		return err
	}
	defer group.Stop()

	apiSrv, err := listen("api", d.APIAddr, newAPI(c, d.RedisFlags, pool, d.SagaFlags, d.APIFlags, metricsHandler(reg), log), log)
	if err != nil {
		return err
	}
	attrs := []any{"api", "http://" + apiSrv.Addr(), "temporal", tf.TemporalAddress, "payment_provider", "http://" + provider.Addr(),
		"rabbitmq", broker.Redacted(d.RabbitMQURL), "exchange", d.topology().EventsExchange()}
	if srv != nil && srv.UIAddress() != "" {
		attrs = append(attrs, "web_ui", "http://"+srv.UIAddress(), "data", filepath.Join(d.DataDir, "temporal.db"))
	}
	log.Info("ordersaga dev is ready", attrs...)

	<-ctx.Done()
	log.Info("shutting down")
	return apiSrv.Shutdown(5 * time.Second)
}

// seed creates the demo catalog's missing SKUs; existing stock is kept.
func seed(ctx context.Context, inv *redisstore.Inventory, log *slog.Logger) error {
	for _, s := range demoCatalog {
		_, err := inv.Get(ctx, s.SKU)
		if err == nil {
			continue
		}
		if !errors.Is(err, ordersaga.ErrUnknownSKU) {
			return fmt.Errorf("seed catalog: %w", err)
		}
		if _, err := inv.Put(ctx, s.SKU, s.Available, s.PriceCents); err != nil {
			return fmt.Errorf("seed catalog: %w", err)
		}
		log.Info("seeded sku", "sku", s.SKU, "available", s.Available, "price_cents", s.PriceCents)
	}
	return nil
}
