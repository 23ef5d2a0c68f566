//go:build !slim

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/codec"
	"github.com/ordersaga/ordersaga/internal/devserver"
	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/services/payment/paymentsim"
	"github.com/ordersaga/ordersaga/services/timeline"
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows"
)

// DevCmd runs the whole product in one process.
type DevCmd struct {
	DataDir           string            `env:"DATA_DIR" default:"./.data" help:"Directory of the embedded Temporal server's SQLite file; sagas survive a restart."`
	TemporalAddress   string            `env:"TEMPORAL_ADDRESS" help:"Use this existing Temporal cluster (host:port) instead of the embedded server."`
	TemporalNamespace string            `env:"TEMPORAL_NAMESPACE" default:"default" help:"Temporal namespace."`
	TemporalPort      int               `env:"TEMPORAL_PORT" default:"7233" help:"Port of the embedded Temporal frontend (gRPC)."`
	TemporalHTTPPort  int               `name:"temporal-http-port" env:"TEMPORAL_HTTP_PORT" help:"Serve the embedded Temporal frontend's HTTP API on this loopback port (it has no credentials: whoever reaches it may start any workflow); 0: none."`
	UIPort            int               `name:"ui-port" env:"TEMPORAL_UI_PORT" default:"8233" help:"Port of the embedded Temporal Web UI (--ui-port=-1: no UI)."`
	NoUI              bool              `name:"no-ui" env:"TEMPORAL_NO_UI" help:"Run the embedded Temporal server without its Web UI."`
	TemporalDB        string            `env:"TEMPORAL_DB" default:"sqlite" help:"Embedded Temporal's persistence: sqlite (the file under --data-dir), sqlite-memory (nothing survives), or a postgres:// URL (schema set up automatically)."`
	TemporalConfig    map[string]string `help:"Embedded server dynamic config, key=value (repeatable), e.g. --temporal-config matching.rps=5000."`
	TemporalMetrics   string            `env:"TEMPORAL_METRICS_ADDR" help:"Serve the embedded Temporal server's own metrics (Prometheus) on this address, at /metrics; empty: none."`
	Seed              bool              `env:"SEED_CATALOG" default:"true" negatable:"" help:"Create the demo catalog's SKUs that do not exist yet."`
	Topology          string            `env:"TOPOLOGY" enum:"single,split" default:"single" help:"single: the saga runs the services' steps on the orchestrator's task queue, dispatched at once to this process (eager dispatch); split: on each service's queue, as separate deployments do."`
	HTTPAddr          string            `env:"HTTP_ADDR" default:"127.0.0.1:9100" help:"Address of the services' APIs (the gateway calls them there; they need --service-token, or the token dev makes at each start), /healthz, /readyz and /metrics. Empty: a free loopback port."`

	CodecFlags         `embed:""`
	CodecServerFlags   `embed:""`
	RedisFlags         `embed:""`
	RabbitFlags        `embed:""`
	TimelineFlags      `embed:""`
	SagaFlags          `embed:""`
	PaymentClientFlags `embed:""`
	ProviderFlags      `embed:""`
	ProviderKeyFlags   `embed:""`
	InventoryFlags     `embed:""`
	APIFlags           `embed:""`
	WorkerFlags        `embed:""`
	ServiceTokenFlags  `embed:""`
	GatewayFlags       `embed:""`
	HTTPFlags          `embed:""`

	// ExtraWorkers are more workers to run beside the services' (the bench
	// adds its baseline's); each is built on the dev stack's client and
	// what its workers host (the services' activities).
	ExtraWorkers []func(client.Client, []workers.Service) worker.Worker `kong:"-"`
}

// Run runs until ctx is cancelled, then shuts down in reverse order.
func (d *DevCmd) Run(ctx context.Context, log *slog.Logger) error {
	st, err := startDev(ctx, d, log)
	if err != nil {
		return err
	}
	attrs := []any{"api", "http://" + st.API, "services", "http://" + st.Services, "temporal", st.Temporal, "payment_provider", "http://" + st.Provider,
		"rabbitmq", broker.Redacted(d.RabbitMQURL), "exchange", d.topology().EventsExchange()}
	if st.UI != "" {
		attrs = append(attrs, "web_ui", "http://"+st.UI, "data", filepath.Join(d.DataDir, "temporal.db"))
	}
	if st.Codec != "" {
		attrs = append(attrs, "codec_server", st.Codec)
	}
	if st.TemporalPorts != "" {
		attrs = append(attrs, "temporal_ports", st.TemporalPorts)
	}
	log.Info("ordersaga dev is ready", attrs...)
	<-ctx.Done()
	log.Info("shutting down")
	st.Stop()
	return nil
}

// devStack is a running `dev`: every role in this process. Services is
// the address of the services' APIs.
type devStack struct {
	API, Services, Temporal, Provider, UI, Codec string
	// TemporalPorts lists every port the embedded server opened.
	TemporalPorts string
	Client        client.Client
	Pool          *redisPool

	stops []func()
}

func (s *devStack) onStop(f func()) { s.stops = append(s.stops, f) }

// Stop shuts the stack down in reverse start order: the API first, then
// the services' APIs, the workers (running activities get the shutdown
// timeout), the relays, the provider, the Temporal client and server, and
// Redis.
func (s *devStack) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// startDev starts every role of d; on an error it stops what it started.
func startDev(ctx context.Context, d *DevCmd, log *slog.Logger) (_ *devStack, err error) {
	st := &devStack{}
	defer func() {
		if err != nil {
			st.Stop()
		}
	}()
	auth, token, err := d.check()
	if err != nil {
		return nil, err
	}
	pool, err := openRedis(ctx, append(redisURLs(d.RedisFlags, serviceNames()), d.RedisURL, d.timelineURL())...)
	if err != nil {
		return nil, err
	}
	pool.name(d.RedisURL, redisRoles(d.RedisFlags, serviceNames()))
	pool.name(d.RedisURL, map[string]string{"timeline": d.timelineURL()})
	st.Pool = pool
	st.onStop(pool.Close)
	if err := checkRabbit(ctx, d.RabbitFlags); err != nil {
		return nil, err
	}
	reg := newRegistry()
	c, err := d.startTemporal(ctx, st, reg, log)
	if err != nil {
		return nil, err
	}
	providerKey, err := startDevProvider(d, pool, st, log)
	if err != nil {
		return nil, err
	}
	bg := newBackground()
	st.onStop(bg.Stop) // after the workers: what they wrote is relayed, or kept for the next start
	consuming, err := startProjector(ctx, bg, newTimeline(d.CommonRedisFlags, pool), d.RabbitFlags, d.TimelineFlags, timeline.NewMetrics(reg), log)
	if err != nil {
		return nil, err
	}
	hostedWorkers, apis, err := d.startServices(ctx, c.Client, pool, bg, reg, providerKey, st, log)
	if err != nil {
		return nil, err
	}
	checks := append(pool.checks(), rabbitCheck(d.RabbitFlags), consuming, temporalCheck(c.Client), pollersCheck(c.Client, hostedWorkers))
	svcSrv, err := roleHTTP{checks: checks, reg: reg, apis: apis}.serve(or(d.HTTPAddr, "127.0.0.1:0"), token, d.HTTPFlags, log)
	if err != nil {
		return nil, err
	}
	st.Services = svcSrv.Addr()
	st.onStop(func() { _ = svcSrv.Shutdown(5 * time.Second) })
	return st, d.startGateway(ctx, c, pool, bg, reg, auth, token, st, log)
}

// check checks d's settings, and returns the API's access control and the
// services' token (one made for this run if none is given: the gateway in
// this process is the services' only caller).
func (d *DevCmd) check() (api.Auth, string, error) {
	if err := d.allow("--api-request-timeout", d.APIRequestTimeout); err != nil {
		return api.Auth{}, "", err
	}
	if err := d.allow("--provider-slow-delay", d.ProviderSlowDelay); err != nil {
		return api.Auth{}, "", err
	}
	auth, err := d.auth()
	if err != nil {
		return api.Auth{}, "", err
	}
	token, err := d.serviceToken(d.HTTPAddr, false, false)
	if err != nil {
		return api.Auth{}, "", err
	}
	if token == "" {
		token = rand.Text()
	}
	return auth, token, nil
}

// startTemporal starts the embedded Temporal server (unless d names a
// cluster) and its codec server, and connects to it. dev registers the
// search attributes itself (`ordersaga setup` in production): its own
// server has them already, another needs them.
func (d *DevCmd) startTemporal(ctx context.Context, st *devStack, reg *prometheus.Registry, log *slog.Logger) (*temporalConn, error) {
	keys, err := d.keyring()
	if err != nil {
		return nil, err
	}
	conn := temporalclient.Connection{Address: d.TemporalAddress, Namespace: d.TemporalNamespace}
	var uiCodecEndpoint string
	if keys != nil {
		if uiCodecEndpoint, err = startDevCodec(d, keys, st, log); err != nil {
			return nil, err
		}
	}
	if d.TemporalAddress == "" {
		if conn, err = d.startServer(uiCodecEndpoint, st, log); err != nil {
			return nil, err
		}
	}
	c, err := dialTemporalOnly(ctx, conn, d.CodecFlags, reg, log)
	if err != nil {
		return nil, err
	}
	st.Client = c.Client
	st.onStop(c.Close)
	st.Temporal = c.Address
	if _, err := registerSearchAttributes(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// startServer starts the embedded Temporal server and returns how to
// connect to it: its own server, so no profile or TEMPORAL_* credential
// applies.
func (d *DevCmd) startServer(uiCodecEndpoint string, st *devStack, log *slog.Logger) (temporalclient.Connection, error) {
	srv, err := devserver.Start(devserver.Config{
		DataDir:          d.DataDir,
		Persistence:      d.TemporalDB,
		FrontendPort:     d.TemporalPort,
		HTTPPort:         d.TemporalHTTPPort,
		UIPort:           uiPort(d.UIPort, d.NoUI),
		Namespace:        d.TemporalNamespace,
		SearchAttributes: workflows.SearchAttributes(),
		UICodecEndpoint:  uiCodecEndpoint,
		DynamicConfig:    dynamicValues(d.TemporalConfig),
		MetricsAddr:      d.TemporalMetrics,
		Logger:           log,
	})
	if err != nil {
		return temporalclient.Connection{}, err
	}
	st.onStop(srv.Stop)
	st.UI = srv.UIAddress()
	st.TemporalPorts = devserver.PortsString(srv.Ports())
	return temporalclient.Connection{Address: srv.FrontendAddress(), Namespace: d.TemporalNamespace, Plain: true}, nil
}

// startServices opens every service of the catalog (seeding the demo
// catalog if asked), starts their relays in bg and the workers of the
// orchestrator and the services (and d's extra workers) in d's topology.
// It returns what the workers host and the registration of the services'
// APIs.
func (d *DevCmd) startServices(ctx context.Context, c client.Client, pool *redisPool, bg *background, reg *prometheus.Registry,
	providerKey string, st *devStack, log *slog.Logger) ([]workers.Service, func(*servicehttp.Router), error) {
	names := serviceNames()
	opened, err := openServices(ctx, names, d.RedisFlags, pool, serviceEnv{seed: d.Seed, providerURL: "http://" + st.Provider,
		providerKey: providerKey, InventoryFlags: d.InventoryFlags, PaymentClientFlags: d.PaymentClientFlags, log: log})
	if err != nil {
		return nil, nil, err
	}
	if err := startRelays(bg, names, d.RedisFlags, pool, d.RabbitFlags, outbox.NewMetrics(reg), log); err != nil {
		return nil, nil, err
	}
	hostedWorkers := workerServices(names, opened)
	group, err := startWorkers(c, hostedWorkers, d.workerTopology(), d.SagaFlags.options(), d.WorkerFlags)
	if err != nil {
		return nil, nil, err
	}
	for _, extra := range d.ExtraWorkers {
		w := extra(c, hostedWorkers)
		if err := w.Start(); err != nil {
			group.Stop()
			return nil, nil, fmt.Errorf("start worker: %w", err)
		}
		group.Add(w)
	}
	st.onStop(group.Stop)
	return hostedWorkers, registerAPIs(opened), nil
}

// startGateway starts the API on the services' APIs at st.Services.
func (d *DevCmd) startGateway(ctx context.Context, c *temporalConn, pool *redisPool, bg *background, reg *prometheus.Registry,
	auth api.Auth, token string, st *devStack, log *slog.Logger) error {
	svc, err := newServiceClients(sameURL("http://"+st.Services), token, d.GatewayFlags, log)
	if err != nil {
		return err
	}
	backlog, err := startBacklog(bg, c.Client, c.Namespace, d.AdmissionFlags, reg, log)
	if err != nil {
		return err
	}
	handler, err := newAPI(c.Client, d.CommonRedisFlags, pool, svc, d.APIFlags, auth, d.CodecFlags, reg, backlog, bg, log)
	if err != nil {
		return err
	}
	if err := startPlacement(ctx, bg, c.Client, d.PlacementFlags, d.CodecFlags, d.RabbitFlags, log); err != nil {
		return err
	}
	apiSrv, err := listen("api", d.APIAddr, handler, d.HTTPFlags, log)
	if err != nil {
		return err
	}
	st.API = apiSrv.Addr()
	st.onStop(func() { _ = apiSrv.Shutdown(5 * time.Second) })
	return nil
}

// workerTopology is d's topology; Single unless split is asked for (a
// DevCmd built in code may leave it empty).
func (d *DevCmd) workerTopology() workers.Topology {
	if d.Topology == string(workers.Split) {
		return workers.Split
	}
	return workers.Single
}

// startDevCodec starts dev's codec server. It accepts the admin API keys
// and --codec-auth-keys as bearer keys and, when dev runs the Web UI (which
// has no sign-in and cannot send a key), a secret made for this run as the
// first segment of the path: it returns that capability URL for the UI, or
// "" without an embedded UI.
func startDevCodec(d *DevCmd, keys *codec.Keyring, st *devStack, log *slog.Logger) (string, error) {
	callers, err := codecCallers(d.AdminAPIKeys, d.CodecAuthKeys)
	if err != nil {
		return "", err
	}
	encoders, err := d.encoders()
	if err != nil {
		return "", err
	}
	cfg := codec.ServerConfig{Keys: keys, BearerKeys: callers, EncodeKeys: encoders, Origins: []string{
		"http://localhost:" + strconv.Itoa(d.UIPort), "http://127.0.0.1:" + strconv.Itoa(d.UIPort)}}
	embeddedUI := d.TemporalAddress == "" && uiPort(d.UIPort, d.NoUI) >= 0
	if embeddedUI {
		cfg.PathSecret = rand.Text()
	}
	cs, err := listen("codec server", d.CodecAddr, codec.NewHandler(cfg), d.HTTPFlags, log)
	if err != nil {
		return "", err
	}
	st.onStop(func() { _ = cs.Shutdown(time.Second) })
	st.Codec = "http://" + cs.Addr()
	if !embeddedUI {
		return "", nil
	}
	return st.Codec + "/" + cfg.PathSecret, nil
}

// startDevProvider starts dev's payment provider, behind the secret key
// given or, without one, a key made for this run (the payment service in
// this process is its only caller), and returns the key.
func startDevProvider(d *DevCmd, pool *redisPool, st *devStack, log *slog.Logger) (string, error) {
	key, err := d.providerKey()
	if err != nil {
		return "", err
	}
	if key == "" {
		key = rand.Text()
	}
	provider, err := listen("payment provider", d.ProviderAddr, paymentsim.New(pool.get(d.providerRedisURL()), paymentsim.Config{
		Keyspace: d.RedisKeyPrefix + "{paymentsim}:", SlowDelay: d.ProviderSlowDelay, FlakyFailures: d.ProviderFlakyFailures,
		SecretKey: key,
	}, log).Handler(), d.HTTPFlags, log)
	if err != nil {
		return "", err
	}
	st.Provider = provider.Addr()
	st.onStop(func() { _ = provider.Shutdown(5 * time.Second) })
	return key, nil
}

// uiPort is the Web UI port to give the embedded server: negative (none)
// with --no-ui.
func uiPort(port int, noUI bool) int {
	if noUI {
		return -1
	}
	return port
}

// dynamicValues types dynamic config values given as text: integers,
// floats, booleans and durations become those; the rest stay strings.
func dynamicValues(kv map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range kv {
		if i, err := strconv.Atoi(v); err == nil {
			out[k] = i
		} else if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = f
		} else if b, err := strconv.ParseBool(v); err == nil {
			out[k] = b
		} else if d, err := time.ParseDuration(v); err == nil {
			out[k] = d
		} else {
			out[k] = v
		}
	}
	return out
}
