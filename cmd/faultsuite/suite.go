package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga/api/client"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/faultproxy"
)

// Config is the suite's configuration.
type Config struct {
	Orders    int           `default:"200" help:"Orders to place."`
	Rate      float64       `default:"8" help:"Orders placed per second."`
	Timeout   time.Duration `default:"5m" help:"How long sagas get to end after the last order."`
	Outage    time.Duration `default:"60s" help:"How long the payment provider is down, starting 1s after the first order (orders keep arriving)."`
	Binary    string        `help:"ordersaga binary to run (default: built from ./cmd/ordersaga into a temporary directory)."`
	RedisURL  string        `env:"REDIS_URL" default:"redis://127.0.0.1:6379/0" help:"The real Redis (reached through a cuttable proxy)."`
	RabbitURL string        `name:"rabbitmq-url" env:"RABBITMQ_URL" default:"amqp://guest:guest@127.0.0.1:5672/" help:"The real RabbitMQ (reached through a cuttable proxy)."`
	Keep      bool          `help:"Keep the temporary directory (process logs, SQLite file)."`
	Replicas  int           `default:"1" help:"Processes per role. With 2 or more, the orchestrator, each service's workers, the projector and the API run as separate processes, that many of each, and the last replica of each role is SIGKILLed mid-run (not restarted) instead of the worker and server kills."`
}

// suite is one run's processes and resources.
type suite struct {
	cfg    Config
	log    *slog.Logger
	dir    string
	bin    string
	prefix string
	topo   broker.Topology
	queue  string
	rdb    redis.UniversalClient
	redisP *faultproxy.Proxy
	rabbit *faultproxy.Proxy

	// Listen addresses: the Temporal frontend, the gateway, the payment
	// provider, the worker's service APIs (every service runs in the one
	// worker process) and the projector's health endpoints.
	temporal, api, provider, services, projector string
	// client calls the gateway at api.
	client *client.ClientWithResponses
	// With --replicas: the API replicas' addresses, the balancer the
	// client sends through, and every address whose /readyz to await.
	apis, ready []string
	lb          *balancer
	mu          sync.Mutex
	procs       map[string]*exec.Cmd
	args        map[string][]string
	faults      []string
	// The provider outage (outage.go): when it was, which orders were
	// placed when, and what an order's state showed while its charge was
	// retrying.
	outage   window
	placed   []placement
	retrying string
}

// Run runs the suite and returns its result.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Result, error) {
	s := &suite{cfg: cfg, log: log, procs: map[string]*exec.Cmd{}, args: map[string][]string{}}
	var err error
	if s.dir, err = os.MkdirTemp("", "ordersaga-faults-"); err != nil {
		return nil, err
	}
	defer s.cleanup()
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	return s.drive(ctx)
}

func (s *suite) setup(ctx context.Context) error {
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := "faults-" + hex.EncodeToString(b[:])
	s.prefix, s.topo, s.queue = id+":", broker.Topology{Exchange: id + ".events"}, id+".timeline"

	// The suite puts a fault proxy in front of one Redis: a cluster URL's
	// redirections would go around it.
	opts, err := redis.ParseURL(s.cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("--redis-url: one Redis (the suite proxies it): %w", err)
	}
	if s.rdb, err = redislua.NewClient(s.cfg.RedisURL); err != nil {
		return err
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s is unreachable: %w", s.cfg.RedisURL, err)
	}
	if s.redisP, err = faultproxy.New(opts.Addr); err != nil {
		return err
	}
	rabbitURL, err := urlHost(s.cfg.RabbitURL)
	if err != nil {
		return err
	}
	if s.rabbit, err = faultproxy.New(rabbitURL); err != nil {
		return err
	}

	s.bin = s.cfg.Binary
	if s.bin == "" {
		s.bin = filepath.Join(s.dir, "ordersaga")
		s.log.Info("building ordersaga")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", s.bin, "./cmd/ordersaga").CombinedOutput()
		if err != nil {
			return fmt.Errorf("build: %v: %s", err, out)
		}
	}
	s.temporal, s.api, s.provider, s.services, s.projector = freeAddr(), freeAddr(), freeAddr(), freeAddr(), freeAddr()
	token := rand.Text() // shared by the gateway and the services' APIs
	_, tport, _ := net.SplitHostPort(s.temporal)
	proxiedRedis := s.redisP.URL(s.cfg.RedisURL)
	proxiedRabbit := s.rabbit.URL(s.cfg.RabbitURL)
	s.args["temporal"] = []string{"temporal-server", "--data-dir", filepath.Join(s.dir, "temporal"), "--temporal-port", tport,
		"--ui-port=-1", "--log-level", "warn"}
	s.args["provider"] = []string{"payment-provider", "--provider-addr", s.provider, "--redis-url", s.cfg.RedisURL,
		"--provider-slow-delay", "1s", "--log-level", "warn", "--redis-key-prefix", s.prefix}
	names := []string{"projector", "worker", "api"}
	var copts []client.ClientOption
	if s.cfg.Replicas > 1 {
		s.replicaArgs(token, proxiedRedis, proxiedRabbit)
		names = s.replicaNames()
		s.lb = newBalancer(s.apis)
		copts = append(copts, client.WithHTTPClient(&http.Client{Transport: s.lb}))
	} else {
		s.singleArgs(token, proxiedRedis, proxiedRabbit)
	}
	if s.client, err = client.NewClientWithResponses("http://"+s.api, copts...); err != nil {
		return err
	}
	return s.startAll(ctx, names)
}

// singleArgs sets the arguments of one process per role: a worker running
// every service, a projector, an API.
func (s *suite) singleArgs(token, proxiedRedis, proxiedRabbit string) {
	common := []string{"--log-level", "warn", "--redis-key-prefix", s.prefix}
	services := append([]string{"--temporal-address", s.temporal, "--redis-url", proxiedRedis,
		"--rabbitmq-url", proxiedRabbit, "--rabbitmq-exchange", s.topo.EventsExchange()}, common...)
	// The saga options are the orchestrator's: no approvals.
	s.args["worker"] = append([]string{"worker", "--payment-provider-url", "http://" + s.provider, "--payment-timeout", "500ms",
		"--http-addr", s.services, "--service-token", token, "--approval-threshold-cents=-1", "--compensation-max-interval", "5s"},
		services...)
	s.args["projector"] = append([]string{"projector", "--redis-url", proxiedRedis, "--rabbitmq-url", proxiedRabbit,
		"--rabbitmq-exchange", s.topo.EventsExchange(), "--timeline-queue", s.queue, "--http-addr", s.projector}, common...)
	serviceURL := "http://" + s.services
	s.args["api"] = append([]string{"api", "--api-addr", s.api, "--temporal-address", s.temporal, "--redis-url", proxiedRedis,
		"--order-service-url", serviceURL, "--inventory-service-url", serviceURL, "--payment-service-url", serviceURL,
		"--service-token", token}, common...)
	s.ready = []string{s.projector, s.services, s.api}
}

// startAll starts the Temporal server and the provider, then the roles'
// processes names, and waits until they are ready.
func (s *suite) startAll(ctx context.Context, names []string) error {
	for _, name := range []string{"temporal", "provider"} {
		if err := s.start(name); err != nil {
			return err
		}
	}
	if err := waitTCP(ctx, s.temporal, 60*time.Second); err != nil {
		return fmt.Errorf("temporal server: %w (log: %s)", err, s.logFile("temporal"))
	}
	time.Sleep(time.Second) // namespace cache
	for _, name := range names {
		if err := s.start(name); err != nil {
			return err
		}
	}
	return s.waitReplicas(ctx)
}

func (s *suite) logFile(name string) string { return filepath.Join(s.dir, name+".log") }

// start starts (or restarts) a process.
func (s *suite) start(name string) error {
	f, err := os.OpenFile(s.logFile(name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, s.args[name]...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); _ = f.Close() }()
	s.mu.Lock()
	s.procs[name] = cmd
	s.mu.Unlock()
	return nil
}

// kill SIGKILLs a process: no shutdown, no cleanup.
func (s *suite) kill(name string) {
	s.mu.Lock()
	cmd := s.procs[name]
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for cmd.ProcessState == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// fault is one injected fault: after a pause it is injected, lasts a while
// and is healed.
type fault struct {
	name, what   string
	after, lasts time.Duration
	inject, heal func()
}

// inject runs the fault schedules concurrently: the provider outage, and the
// short faults one after another, each after the previous one has healed.
func (s *suite) inject(ctx context.Context) {
	short := []fault{
		{"worker-kill", "SIGKILL the worker process; restart in 2s", 3 * time.Second, 2 * time.Second,
			func() { s.kill("worker") }, func() { _ = s.start("worker") }},
		{"temporal-kill", "SIGKILL the Temporal server process (SQLite file); restart in 2s", 4 * time.Second, 2 * time.Second,
			func() { s.kill("temporal") }, func() { _ = s.start("temporal") }},
		{"redis-cut", "Redis unreachable for 5s", 5 * time.Second, 5 * time.Second, s.redisP.Cut, s.redisP.Restore},
		{"rabbitmq-cut", "RabbitMQ unreachable for 5s", 3 * time.Second, 5 * time.Second, s.rabbit.Cut, s.rabbit.Restore},
	}
	if s.cfg.Replicas > 1 {
		short = s.replicaKills()
	}
	schedules := [][]fault{{s.providerOutage(ctx)}, short}
	var wg sync.WaitGroup
	for _, faults := range schedules {
		wg.Go(func() { s.run(ctx, faults) })
	}
	wg.Wait()
}

// run injects faults one after another.
func (s *suite) run(ctx context.Context, faults []fault) {
	step := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for _, f := range faults {
		if !step(f.after) {
			return
		}
		s.log.Info("fault: " + f.what)
		s.mu.Lock()
		s.faults = append(s.faults, f.name)
		s.mu.Unlock()
		f.inject()
		step(f.lasts)
		f.heal()
	}
}

func (s *suite) cleanup() {
	s.mu.Lock()
	for _, cmd := range s.procs {
		if cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	s.mu.Unlock()
	time.Sleep(2 * time.Second)
	s.mu.Lock()
	for _, cmd := range s.procs {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}
	s.mu.Unlock()
	if s.redisP != nil {
		s.redisP.Close()
	}
	if s.rabbit != nil {
		s.rabbit.Close()
	}
	if s.rdb != nil {
		ctx := context.Background()
		_ = redislua.DeletePrefix(ctx, s.rdb, s.prefix)
		_ = s.rdb.Close()
	}
	_ = s.topo.DeleteAt(context.Background(), s.cfg.RabbitURL, s.queue)
	if s.cfg.Keep {
		s.log.Info("kept", "dir", s.dir)
		return
	}
	_ = os.RemoveAll(s.dir)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New(addr + " not listening")
}

func urlHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Port() == "" {
		return u.Hostname() + ":" + strconv.Itoa(5672), nil
	}
	return u.Host, nil
}
