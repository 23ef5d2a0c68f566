package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/telemetry"
	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows"
)

// redisLog routes go-redis's internal log lines into slog at debug level:
// connection failures surface as errors of the calls that hit them.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// redisPool holds one client per distinct Redis URL.
type redisPool struct {
	clients map[string]redis.UniversalClient
	// roles names the keyspaces a URL holds, for its readiness check
	// (see name).
	roles map[string][]string
}

// openRedis connects to every URL and pings it. An unreachable Redis is a
// one-line error naming the URL and how to start it.
func openRedis(ctx context.Context, urls ...string) (*redisPool, error) {
	p := &redisPool{clients: map[string]redis.UniversalClient{}, roles: map[string][]string{}}
	for _, u := range urls {
		if _, ok := p.clients[u]; ok {
			continue
		}
		c, err := redislua.NewClient(u)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("redis url %q: %w", redacted(u), err)
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = c.Ping(pctx).Err()
		cancel()
		if err != nil {
			_ = c.Close()
			p.Close()
			return nil, fmt.Errorf("redis at %s is unreachable (%v); start it with `docker compose up -d redis` or `redis-server --daemonize yes`", redacted(u), err)
		}
		p.clients[u] = c
	}
	return p, nil
}

func (p *redisPool) get(u string) redis.UniversalClient { return p.clients[u] }

// name records which keyspace roles (timeline, order, ...) each Redis
// holds, given by role, unless it is def (the Redis of every keyspace not
// given its own): its readiness check is named by its roles, never by its
// address, which a public /readyz must not tell.
func (p *redisPool) name(def string, urls map[string]string) {
	for role, u := range urls {
		if u != def && !slices.Contains(p.roles[u], role) {
			p.roles[u] = append(p.roles[u], role)
		}
	}
}

// checks returns a readiness check per Redis, named "redis" for the one of
// the keyspaces not given their own, "redis-<role>[+<role>...]" for
// another (see name), "redis-2", "redis-3"... for one not named.
func (p *redisPool) checks() []servicehttp.Check {
	var out []servicehttp.Check
	taken := map[string]bool{}
	for _, u := range slices.Sorted(maps.Keys(p.clients)) {
		c := p.clients[u]
		name := "redis"
		if roles := slices.Sorted(slices.Values(p.roles[u])); len(roles) > 0 {
			name = "redis-" + strings.Join(roles, "+")
		}
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("redis-%d", i)
		}
		taken[name] = true
		out = append(out, servicehttp.Check{Name: name, Fn: func(ctx context.Context) error { return c.Ping(ctx).Err() }})
	}
	return out
}

func (p *redisPool) Close() {
	for _, c := range p.clients {
		_ = c.Close()
	}
}

// redacted is u without its password; a URL that does not parse is not
// shown at all (it may hold one).
func redacted(u string) string {
	if parsed, err := url.Parse(u); err == nil {
		return parsed.Redacted()
	}
	return "(unparsable url)"
}

// startWorkers starts the workers of services in topology, as
// workers.Identity(); the orchestrator's sagas take sagaOpts.
func startWorkers(c client.Client, services []workers.Service, topology workers.Topology, sagaOpts workflows.Options, wf WorkerFlags) (*workers.Group, error) {
	ws, err := workers.NewAll(c, services, topology, sagaOpts, worker.Options{
		Identity:                         workers.Identity(),
		WorkerStopTimeout:                wf.ShutdownTimeout,
		MaxConcurrentWorkflowTaskPollers: wf.WorkflowPollers,
		MaxConcurrentActivityTaskPollers: wf.ActivityPollers,
		StickyScheduleToStartTimeout:     wf.StickyTimeout,
	})
	if err != nil {
		return nil, err
	}
	var g workers.Group
	for _, w := range ws {
		g.Add(w)
	}
	if err := g.Start(); err != nil {
		return nil, err
	}
	return &g, nil
}

// temporalStartupTimeout bounds connecting to Temporal at startup: a
// role that cannot connect within it exits, naming why.
const temporalStartupTimeout = 10 * time.Second

// temporalConn is a connected client and where it is connected.
type temporalConn struct {
	client.Client
	Address, Namespace string
}

// dialTemporal dials Temporal and checks, without operator rights, that
// the saga's search attributes exist (`ordersaga setup` registers them).
// The SDK's metrics, and the saga's, go to reg.
func dialTemporal(ctx context.Context, tf TemporalFlags, reg *prometheus.Registry, log *slog.Logger) (*temporalConn, error) {
	c, err := dialTemporalOnly(ctx, tf.connection(), tf.CodecFlags, reg, log)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, temporalStartupTimeout)
	defer cancel()
	if err := temporalclient.CheckSearchAttributes(sctx, c, c.Namespace, workflows.SearchAttributes()); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialTemporalOnly dials Temporal within temporalStartupTimeout.
func dialTemporalOnly(ctx context.Context, conn temporalclient.Connection, cf CodecFlags, reg *prometheus.Registry, log *slog.Logger) (*temporalConn, error) {
	keys, err := cf.keyring()
	if err != nil {
		return nil, err
	}
	cfg := temporalclient.Config{Connection: conn, Keys: keys}
	if reg != nil {
		if cfg.Metrics, err = telemetry.NewTemporalMetrics(reg, log); err != nil {
			return nil, err
		}
	}
	opts, err := conn.Options()
	if err != nil {
		return nil, err
	}
	c, err := temporalclient.Dial(ctx, cfg, log, temporalStartupTimeout)
	var ce *temporalclient.ConnectError
	if errors.As(err, &ce) && ce.Kind == temporalclient.Unreachable && opts.ConnectionOptions.TLS == nil {
		return nil, fmt.Errorf("%w; start it with `docker compose up -d temporal`, or run `ordersaga dev` for an embedded one", err)
	}
	if err != nil {
		return nil, err
	}
	return &temporalConn{Client: c, Address: opts.HostPort, Namespace: opts.Namespace}, nil
}

// httpServer is a started HTTP server.
type httpServer struct {
	name string
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Defaults of HTTPFlags, for a zero field.
const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 10 * time.Second
	defaultWriteTimeout      = 20 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
)

// withDefaults returns f with its zero fields set to the defaults.
func (f HTTPFlags) withDefaults() HTTPFlags {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&f.HTTPReadHeaderTimeout, defaultReadHeaderTimeout)
	set(&f.HTTPReadTimeout, defaultReadTimeout)
	set(&f.HTTPWriteTimeout, defaultWriteTimeout)
	set(&f.HTTPIdleTimeout, defaultIdleTimeout)
	return f
}

// allow fails unless the write timeout leaves time to answer a request
// whose body took up to the read timeout to arrive, to a handler that may
// take up to busy (what flag is set to): Go's write timeout runs from the
// end of the headers, and a response cut off by it never reaches the
// client.
func (f HTTPFlags) allow(flag string, busy time.Duration) error {
	f = f.withDefaults()
	if w, r := f.HTTPWriteTimeout, f.HTTPReadTimeout; w < r+busy+time.Second {
		return fmt.Errorf("--http-write-timeout (%s) must exceed --http-read-timeout (%s) plus %s (%s) by at least 1s", w, r, flag, busy)
	}
	return nil
}

// listen binds addr (so a taken port fails at once) and serves h with the
// timeouts of f: a client that is slow to send its headers or its request,
// or idle, is disconnected.
func listen(name, addr string, h http.Handler, f HTTPFlags, log *slog.Logger) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	f = f.withDefaults()
	s := &httpServer{name: name, ln: ln, done: make(chan error, 1), srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: f.HTTPReadHeaderTimeout,
		ReadTimeout:       f.HTTPReadTimeout,
		WriteTimeout:      f.HTTPWriteTimeout,
		IdleTimeout:       f.HTTPIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

func (s *httpServer) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting requests and waits up to timeout for those in
// flight.
func (s *httpServer) Shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("%s: %w", s.name, serr)
	}
	return err
}
