package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ordersaga/ordersaga/internal/codec"
	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/services/payment/paymentsim"
	"github.com/ordersaga/ordersaga/services/timeline"
	"github.com/ordersaga/ordersaga/workers"
)

// WorkerCmd runs the workers of some services, and serves their APIs.
type WorkerCmd struct {
	Services           string `env:"WORKER_SERVICES" default:"orchestrator,order,inventory,payment" help:"Comma-separated services whose workers to run: orchestrator, order, inventory, payment."`
	Topology           string `env:"TOPOLOGY" enum:"single,split" default:"single" help:"With the orchestrator and services in this process: single runs their steps on the orchestrator's task queue (eager dispatch), split on each service's queue. Every orchestrator replica must host the same services, in the same topology (docs/architecture.md)."`
	PaymentProviderURL string `env:"PAYMENT_PROVIDER_URL" default:"http://127.0.0.1:8090" help:"Base URL of the payment provider (payment service)."`
	HTTPAddr           string `env:"HTTP_ADDR" default:"127.0.0.1:9100" help:"Address of /healthz, /readyz, /metrics and the APIs of the services run here (order, inventory, payment). A non-loopback address serving an API needs --service-token (or --insecure-no-auth)."`
	InsecureNoAuth     bool   `name:"insecure-no-auth" env:"INSECURE_NO_AUTH" help:"Serve the services' APIs on a non-loopback address without --service-token."`

	TemporalFlags      `embed:""`
	RedisFlags         `embed:""`
	RabbitFlags        `embed:""`
	PaymentClientFlags `embed:""`
	ProviderKeyFlags   `embed:""`
	InventoryFlags     `embed:""`
	SagaFlags          `embed:""`
	WorkerFlags        `embed:""`
	ServiceTokenFlags  `embed:""`
	HTTPFlags          `embed:""`
}

// Run runs the workers, the outbox relays of their services and the
// services' APIs until ctx is cancelled.
func (w *WorkerCmd) Run(ctx context.Context, log *slog.Logger) error {
	services, err := parseServices(w.Services)
	if err != nil {
		return err
	}
	topology, err := workers.ParseTopology(w.Topology)
	if err != nil {
		return err
	}
	urls := redisURLs(w.RedisFlags, services)
	token, err := w.serviceToken(w.HTTPAddr, len(urls) > 0, w.InsecureNoAuth)
	if err != nil {
		return err
	}
	pool, err := openRedis(ctx, urls...)
	if err != nil {
		return err
	}
	defer pool.Close()
	pool.name(w.RedisURL, redisRoles(w.RedisFlags, services))
	checks := pool.checks()
	if len(urls) > 0 { // a service with an outbox: its relay needs RabbitMQ
		if err := checkRabbit(ctx, w.RabbitFlags); err != nil {
			return err
		}
		checks = append(checks, rabbitCheck(w.RabbitFlags))
	}
	reg := newRegistry()
	c, err := dialTemporal(ctx, w.TemporalFlags, reg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	providerKey, err := w.providerKey()
	if err != nil {
		return err
	}
	bg := newBackground()
	defer bg.Stop()
	if err := startRelays(bg, services, w.RedisFlags, pool, w.RabbitFlags, outbox.NewMetrics(reg), log); err != nil {
		return err
	}
	opened, err := openServices(ctx, services, w.RedisFlags, pool, serviceEnv{providerURL: w.PaymentProviderURL, providerKey: providerKey,
		InventoryFlags: w.InventoryFlags, PaymentClientFlags: w.PaymentClientFlags, log: log})
	if err != nil {
		return err
	}
	hostedWorkers := workerServices(services, opened)
	srv, err := roleHTTP{checks: append(checks, temporalCheck(c.Client), pollersCheck(c.Client, hostedWorkers)), reg: reg, apis: registerAPIs(opened)}.serve(w.HTTPAddr, token, w.HTTPFlags, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown(time.Second)
	group, err := startWorkers(c.Client, hostedWorkers, topology, w.SagaFlags.options(), w.WorkerFlags)
	if err != nil {
		return err
	}
	log.Info("workers running", "services", services, "topology", topology, "temporal", c.Address, "namespace", c.Namespace, "http", srv.Addr(), "service_token", token != "")
	<-ctx.Done()
	log.Info("shutting down workers")
	group.Stop()
	return nil
}

// APICmd runs the gateway: the HTTP API.
type APICmd struct {
	TemporalFlags     `embed:""`
	CommonRedisFlags  `embed:""`
	APIFlags          `embed:""`
	ServiceURLFlags   `embed:""`
	GatewayFlags      `embed:""`
	ServiceTokenFlags `embed:""`
	HTTPFlags         `embed:""`
	RabbitFlags       `embed:""` // --placement-queue's
}

// Run serves the API until ctx is cancelled.
func (a *APICmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := a.allow("--api-request-timeout", a.APIRequestTimeout); err != nil {
		return err
	}
	auth, err := a.auth()
	if err != nil {
		return err
	}
	token, err := a.serviceToken(a.APIAddr, false, false)
	if err != nil {
		return err
	}
	svc, err := newServiceClients(a.ServiceURLFlags, token, a.GatewayFlags, log)
	if err != nil {
		return err
	}
	pool, err := openRedis(ctx, a.RedisURL, a.timelineURL())
	if err != nil {
		return err
	}
	defer pool.Close()
	reg := newRegistry()
	c, err := dialTemporal(ctx, a.TemporalFlags, reg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	bg := newBackground()
	defer bg.Stop()
	backlog, err := startBacklog(bg, c.Client, c.Namespace, a.AdmissionFlags, reg, log)
	if err != nil {
		return err
	}
	handler, err := newAPI(c.Client, a.CommonRedisFlags, pool, svc, a.APIFlags, auth, a.CodecFlags, reg, backlog, bg, log)
	if err != nil {
		return err
	}
	if err := startPlacement(ctx, bg, c.Client, a.PlacementFlags, a.CodecFlags, a.RabbitFlags, log); err != nil {
		return err
	}
	srv, err := listen("api", a.APIAddr, handler, a.HTTPFlags, log)
	if err != nil {
		return err
	}
	log.Info("api listening", append([]any{"addr", srv.Addr(), "temporal", c.Address, "namespace", c.Namespace}, serviceURLAttrs(a.ServiceURLFlags)...)...)
	<-ctx.Done()
	return srv.Shutdown(5 * time.Second)
}

// PaymentProviderCmd runs the simulated payment provider alone.
type PaymentProviderCmd struct {
	RedisURL         string `env:"REDIS_URL" secret:"" default:"redis://127.0.0.1:6379/0" help:"Redis the provider keeps its charges in."`
	RedisKeyPrefix   string `env:"REDIS_KEY_PREFIX" help:"Prefix of every key, before the provider's keyspace {paymentsim}:."`
	ProviderFlags    `embed:""`
	ProviderKeyFlags `embed:""`
	HTTPFlags        `embed:""`
}

// Run serves the provider until ctx is cancelled.
func (p *PaymentProviderCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := p.allow("--provider-slow-delay", p.ProviderSlowDelay); err != nil {
		return err
	}
	key, err := p.providerKey()
	if err != nil {
		return err
	}
	if key == "" && !loopback(p.ProviderAddr) {
		return fmt.Errorf("payment-provider: refusing to listen on %s without --provider-secret-key (anyone reaching it could charge and refund): give one, or listen on a loopback address", p.ProviderAddr)
	}
	pool, err := openRedis(ctx, p.RedisURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	sim := paymentsim.New(pool.get(p.RedisURL), paymentsim.Config{
		Keyspace: p.RedisKeyPrefix + "{paymentsim}:", SlowDelay: p.ProviderSlowDelay, FlakyFailures: p.ProviderFlakyFailures, SecretKey: key,
	}, log)
	srv, err := listen("payment provider", p.ProviderAddr, sim.Handler(), p.HTTPFlags, log)
	if err != nil {
		return err
	}
	log.Info("payment provider listening", "addr", srv.Addr(), "secret_key", key != "")
	<-ctx.Done()
	return srv.Shutdown(5 * time.Second)
}

// ProjectorCmd runs the order timeline projector.
type ProjectorCmd struct {
	HTTPAddr         string `env:"HTTP_ADDR" default:"127.0.0.1:9104" help:"Address of /healthz, /readyz and /metrics."`
	CommonRedisFlags `embed:""`
	RabbitFlags      `embed:""`
	TimelineFlags    `embed:""`
	HTTPFlags        `embed:""`
}

// Run consumes events into the timeline until ctx is cancelled.
func (p *ProjectorCmd) Run(ctx context.Context, log *slog.Logger) error {
	pool, err := openRedis(ctx, p.timelineURL())
	if err != nil {
		return err
	}
	defer pool.Close()
	pool.name(p.RedisURL, map[string]string{"timeline": p.timelineURL()})
	if err := checkRabbit(ctx, p.RabbitFlags); err != nil {
		return err
	}
	reg := newRegistry() // to serve on the role's HTTP address
	bg := newBackground()
	defer bg.Stop()
	consuming, err := startProjector(ctx, bg, newTimeline(p.CommonRedisFlags, pool), p.RabbitFlags, p.TimelineFlags, timeline.NewMetrics(reg), log)
	if err != nil {
		return err
	}
	srv, err := roleHTTP{checks: append(pool.checks(), rabbitCheck(p.RabbitFlags), consuming), reg: reg}.serve(p.HTTPAddr, "", p.HTTPFlags, log)
	if err != nil {
		return err
	}
	defer srv.Shutdown(time.Second)
	log.Info("timeline projector running", "queue", p.TimelineQueue, "http", srv.Addr())
	<-ctx.Done()
	return nil
}

// CodecServerCmd serves the payload codec over HTTP for the Temporal Web UI
// and CLI (`temporal --codec-endpoint`).
type CodecServerCmd struct {
	CORSOrigins      []string `name:"cors-origin" env:"CODEC_CORS_ORIGINS" default:"http://localhost:8233" help:"Origins (the Web UI's) allowed to call the codec server."`
	AdminAPIKeys     string   `name:"admin-api-keys" env:"ADMIN_API_KEYS" secret:"" help:"Admin API keys (client:key,...): they may call the codec server."`
	InsecureNoAuth   bool     `help:"Serve /decode without authentication: anyone who reaches the codec server can decrypt every payload (flag only, no environment variable). /encode still needs --codec-encode-keys."`
	CodecServerFlags `embed:""`
	CodecFlags       `embed:""`
	HTTPFlags        `embed:""`
}

// Run serves /encode and /decode until ctx is cancelled. It refuses to start
// without a key that may call it, unless told to serve without
// authentication.
func (c *CodecServerCmd) Run(ctx context.Context, log *slog.Logger) error {
	keys, err := c.keyring()
	if err != nil {
		return err
	}
	if keys == nil {
		return fmt.Errorf("codec-server: --codec-keys is required")
	}
	callers, err := codecCallers(c.AdminAPIKeys, c.CodecAuthKeys)
	if err != nil {
		return err
	}
	encoders, err := c.encoders()
	if err != nil {
		return err
	}
	if len(callers)+len(encoders) == 0 && !c.InsecureNoAuth {
		return fmt.Errorf("codec-server: no key may call it: give --codec-auth-keys or --admin-api-keys (or --insecure-no-auth to let anyone who reaches it decrypt)")
	}
	if c.InsecureNoAuth {
		log.Warn("codec server without authentication: anyone who reaches it can decrypt every payload")
	}
	h := codec.NewHandler(codec.ServerConfig{Keys: keys, Origins: c.CORSOrigins, BearerKeys: callers, EncodeKeys: encoders, NoAuth: c.InsecureNoAuth})
	srv, err := listen("codec server", c.CodecAddr, h, c.HTTPFlags, log)
	if err != nil {
		return err
	}
	log.Info("codec server listening", "addr", srv.Addr(), "current_key", keys.CurrentID(), "callers", len(callers), "encoders", len(encoders), "allow_plaintext", keys.AllowPlaintext)
	<-ctx.Done()
	return srv.Shutdown(5 * time.Second)
}
