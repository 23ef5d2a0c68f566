package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows"
)

// catalog lists the services the saga calls. It is the one place that
// names them: the roles, dev, the gateway, the relays, admission control
// and the flags below loop over it. A new service is a folder
// services/<name>/ and an entry here (docs/adding-a-step.md).
var catalog = []service{
	{
		name: "order", queue: workflows.TaskQueueOrder,
		redisURL: func(f *RedisFlags) *string { return &f.OrderRedisURL },
		apiURL:   func(f *ServiceURLFlags) *string { return &f.OrderServiceURL },
		open: func(_ context.Context, env serviceEnv) (hosted, error) {
			st := order.NewStore(env.rdb, env.keyspace)
			return hosted{activities: &order.Activities{Store: st}, routes: func(r *servicehttp.Router) { order.Register(r, st) }}, nil
		},
		client: func(cfg servicehttp.ClientConfig, log *slog.Logger, d *api.Deps) (err error) {
			d.Orders, err = order.NewClient(cfg, log)
			return err
		},
	},
	{
		name: "inventory", queue: workflows.TaskQueueInventory,
		redisURL: func(f *RedisFlags) *string { return &f.InventoryRedisURL },
		apiURL:   func(f *ServiceURLFlags) *string { return &f.InventoryServiceURL },
		open:     openInventory,
		client: func(cfg servicehttp.ClientConfig, log *slog.Logger, d *api.Deps) error {
			c, err := inventory.NewClient(cfg, log)
			d.Stock, d.Reservations = c, c
			return err
		},
	},
	{
		name: "payment", queue: workflows.TaskQueuePayment,
		redisURL: func(f *RedisFlags) *string { return &f.PaymentRedisURL },
		apiURL:   func(f *ServiceURLFlags) *string { return &f.PaymentServiceURL },
		open: func(_ context.Context, env serviceEnv) (hosted, error) {
			pay, err := payment.NewProvider(payment.ProviderConfig{
				BaseURL:         env.providerURL,
				SecretKey:       env.providerKey,
				Timeout:         env.PaymentTimeout,
				BreakerFailures: env.PaymentBreakerFailures,
				BreakerOpen:     env.PaymentBreakerOpen,
			}, env.log)
			if err != nil {
				return hosted{}, err
			}
			st := payment.NewStore(env.rdb, env.keyspace)
			return hosted{activities: &payment.Activities{Provider: pay, Store: st}, routes: func(r *servicehttp.Router) { payment.Register(r, st) }}, nil
		},
		client: func(cfg servicehttp.ClientConfig, log *slog.Logger, d *api.Deps) (err error) {
			d.Payments, err = payment.NewClient(cfg, log)
			return err
		},
	},
}

// service is one entry of the catalog.
type service struct {
	// name is the service's name (`worker --services`) and its Redis
	// keyspace (<prefix><name>:), whose outbox its relay publishes.
	name string
	// queue is the task queue of its activities.
	queue string
	// redisURL is its --<name>-redis-url flag (empty: --redis-url); nil:
	// it has none, and keeps its data in --redis-url.
	redisURL func(*RedisFlags) *string
	// apiURL is its --<name>-service-url flag: where the gateway calls it;
	// nil for a service the gateway does not call (then client is nil too).
	apiURL func(*ServiceURLFlags) *string
	// open builds the service in a process that hosts it: its store, its
	// activities and its API.
	open func(context.Context, serviceEnv) (hosted, error)
	// client sets the gateway's client of the service's API in d; nil:
	// none.
	client func(servicehttp.ClientConfig, *slog.Logger, *api.Deps) error
}

// serviceEnv is what a service's constructor is given: its Redis and
// keyspace, and the settings of the process hosting it.
type serviceEnv struct {
	rdb      redis.UniversalClient
	keyspace redislua.Keyspace
	// seed: create the demo catalog's missing SKUs (dev).
	seed bool
	// providerURL and providerKey say where the payment provider is.
	providerURL, providerKey string
	InventoryFlags
	PaymentClientFlags
	log *slog.Logger
}

// hosted is a service opened in this process.
type hosted struct {
	service
	// activities is the struct whose methods are its activities.
	activities any
	// routes registers its API; nil: it has none.
	routes func(*servicehttp.Router)
}

// serviceNames lists the orchestrator and the catalog's services, as
// `worker --services` takes them.
func serviceNames() []string {
	names := []string{workers.Orchestrator}
	for _, s := range catalog {
		names = append(names, s.name)
	}
	return names
}

// parseServices parses a comma-separated subset of serviceNames.
func parseServices(s string) ([]string, error) {
	all := serviceNames()
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(all, name) {
			return nil, fmt.Errorf("unknown service %q (want a subset of %s)", name, strings.Join(all, ","))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no services given")
	}
	return out, nil
}

// hostedIn returns the catalog's entries among names.
func hostedIn(names []string) []service {
	var out []service
	for _, s := range catalog {
		if slices.Contains(names, s.name) {
			out = append(out, s)
		}
	}
	return out
}

// url returns the Redis URL of the service: its own, or --redis-url.
func (f RedisFlags) url(s service) string {
	if s.redisURL == nil {
		return f.RedisURL
	}
	return or(*s.redisURL(&f), f.RedisURL)
}

// providerRedisURL is the Redis of dev's simulated payment provider: the
// payment service's.
func (f RedisFlags) providerRedisURL() string { return f.url(serviceNamed("payment")) }

// redisURLs returns the Redis URLs the given services need.
func redisURLs(rf RedisFlags, names []string) []string {
	var urls []string
	for _, s := range hostedIn(names) {
		urls = append(urls, rf.url(s))
	}
	return urls
}

// redisRoles maps each given service to its Redis URL, for the pool's
// readiness checks (redisPool.name).
func redisRoles(rf RedisFlags, names []string) map[string]string {
	roles := map[string]string{}
	for _, s := range hostedIn(names) {
		roles[s.name] = rf.url(s)
	}
	return roles
}

// openServices opens the catalog's services among names, each on its
// Redis in pool.
func openServices(ctx context.Context, names []string, rf RedisFlags, pool *redisPool, env serviceEnv) ([]hosted, error) {
	var out []hosted
	for _, s := range hostedIn(names) {
		env := env
		env.rdb, env.keyspace = pool.get(rf.url(s)), rf.keyspace(s.name)
		h, err := s.open(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("%s service: %w", s.name, err)
		}
		h.service = s
		out = append(out, h)
	}
	return out, nil
}

// workerServices returns what the workers host of names: the orchestrator
// if named, and the opened services.
func workerServices(names []string, opened []hosted) []workers.Service {
	var out []workers.Service
	if slices.Contains(names, workers.Orchestrator) {
		out = append(out, workers.OrchestratorService())
	}
	for _, h := range opened {
		out = append(out, workers.Service{Name: h.name, TaskQueue: h.queue, Activities: h.activities})
	}
	return out
}

// registerAPIs returns the registration of the opened services' APIs.
func registerAPIs(opened []hosted) func(*servicehttp.Router) {
	return func(r *servicehttp.Router) {
		for _, h := range opened {
			if h.routes != nil {
				h.routes(r)
			}
		}
	}
}

// newServiceClients returns the gateway's clients of the services' APIs at
// urls, sending token, each call bounded by gf's timeout, set in api.Deps.
func newServiceClients(urls ServiceURLFlags, token string, gf GatewayFlags, log *slog.Logger) (api.Deps, error) {
	var d api.Deps
	for _, s := range catalog {
		if s.client == nil {
			continue
		}
		cfg := servicehttp.ClientConfig{BaseURL: *s.apiURL(&urls), Token: token, Timeout: gf.ServiceTimeout}
		if err := s.client(cfg, log, &d); err != nil {
			return d, err
		}
	}
	return d, nil
}

// sameURL returns ServiceURLFlags naming one address for every service
// (dev runs them all on its --http-addr).
func sameURL(url string) ServiceURLFlags {
	var f ServiceURLFlags
	for _, s := range catalog {
		if s.apiURL != nil {
			*s.apiURL(&f) = url
		}
	}
	return f
}

// serviceURLAttrs are the services' URLs, for a log line.
func serviceURLAttrs(urls ServiceURLFlags) []any {
	var attrs []any
	for _, s := range catalog {
		if s.apiURL == nil {
			continue
		}
		attrs = append(attrs, s.name+"_service", *s.apiURL(&urls))
	}
	return attrs
}

// openInventory opens the inventory service with the hold share of env
// (the default for a DevCmd built in code), seeding the demo catalog if
// asked.
func openInventory(ctx context.Context, env serviceEnv) (hosted, error) {
	share := env.InventoryHoldShare
	if share == 0 {
		share = 100 // the flag's default: no bound
	}
	st, err := inventory.NewStore(env.rdb, env.keyspace).WithHoldShare(share)
	if err != nil {
		return hosted{}, fmt.Errorf("--inventory-hold-share: %w", err)
	}
	if env.seed {
		if err := seed(ctx, st, env.log); err != nil {
			return hosted{}, err
		}
	}
	return hosted{activities: &inventory.Activities{Store: st}, routes: func(r *servicehttp.Router) { inventory.Register(r, st) }}, nil
}

// demoCatalog is what `dev` seeds: two gizmos reach the default approval
// threshold; last-one has a single unit.
var demoCatalog = []ordersaga.Stock{
	{SKU: "widget", Available: 100, PriceCents: 2500},
	{SKU: "gadget", Available: 50, PriceCents: 12000},
	{SKU: "gizmo", Available: 10, PriceCents: 60000},
	{SKU: "last-one", Available: 1, PriceCents: 5000},
}

// seed creates the demo catalog's missing SKUs; existing stock is kept.
func seed(ctx context.Context, inv *inventory.Store, log *slog.Logger) error {
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

// serviceNamed returns the catalog's entry of name; it panics if there is
// none (a programming error).
func serviceNamed(name string) service {
	for _, s := range catalog {
		if s.name == name {
			return s
		}
	}
	panic("no service " + name + " in the catalog")
}

// The services' own flags.

// RedisFlags say where each service keeps its data: what the processes
// that run the services (dev, worker) may be given.
type RedisFlags struct {
	CommonRedisFlags  `embed:""`
	OrderRedisURL     string `env:"ORDER_REDIS_URL" secret:"" help:"Redis of the order service (default: --redis-url)."`
	InventoryRedisURL string `env:"INVENTORY_REDIS_URL" secret:"" help:"Redis of the inventory service (default: --redis-url)."`
	PaymentRedisURL   string `env:"PAYMENT_REDIS_URL" secret:"" help:"Redis of the payment service (default: --redis-url)."`
}

// ServiceURLFlags say where the gateway finds the services' APIs.
type ServiceURLFlags struct {
	OrderServiceURL     string `env:"ORDER_SERVICE_URL" default:"http://127.0.0.1:9100" help:"Base URL of the order service's API: the --http-addr of the worker running it (the default is a worker's, which runs every service)."`
	InventoryServiceURL string `env:"INVENTORY_SERVICE_URL" default:"http://127.0.0.1:9100" help:"Base URL of the inventory service's API."`
	PaymentServiceURL   string `env:"PAYMENT_SERVICE_URL" default:"http://127.0.0.1:9100" help:"Base URL of the payment service's API."`
}

// PaymentClientFlags tune the payment service's calls to the provider.
type PaymentClientFlags struct {
	PaymentTimeout         time.Duration `env:"PAYMENT_TIMEOUT" default:"2s" help:"Timeout of one call to the payment provider."`
	PaymentBreakerFailures uint32        `env:"PAYMENT_BREAKER_FAILURES" default:"5" help:"Consecutive transient provider failures that open the circuit breaker."`
	PaymentBreakerOpen     time.Duration `env:"PAYMENT_BREAKER_OPEN" default:"5s" help:"How long the circuit stays open before a trial call."`
}

// InventoryFlags configure the inventory service.
type InventoryFlags struct {
	InventoryHoldShare int `env:"INVENTORY_HOLD_SHARE" default:"100" help:"Percent (1-100) of a SKU's unsold units (available + reserved) one client may hold in uncommitted reservations; past it a reservation fails (HoldLimit). A client may always hold one unit; 100: no bound (the default: a shop's checkout is one client). Set e.g. 50 where the API's clients are separate parties."`
}
