// Package devserver runs a complete Temporal server in-process for `ordersaga
// dev`: frontend, history, matching and worker services on SQLite (a file
// under the data directory, so workflows survive a restart; or in memory) or
// on PostgreSQL (schema set up automatically), the namespace with the saga's
// search attributes, and the Temporal Web UI served from ui-server's embedded
// assets.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/fx"
)

const clusterName = "active"

// namespaceCacheRefresh is how soon the server sees namespace changes (such
// as new search attributes); the default is 10s.
const namespaceCacheRefresh = time.Second

// Config configures the embedded server.
type Config struct {
	// DataDir holds the SQLite file temporal.db; empty means in memory
	// (nothing survives Stop).
	DataDir string
	// Persistence is "sqlite" (default: the file under DataDir),
	// "sqlite-memory", or a postgres:// URL.
	Persistence string
	// IP the services bind to: a loopback address (default 127.0.0.1);
	// Start refuses any other. The server has no authentication of its own:
	// whoever reaches it may start any workflow with any input.
	IP string
	// FrontendPort is the gRPC port clients dial (default 7233; 0 picks a
	// free port).
	FrontendPort int
	// HTTPPort serves the frontend's HTTP API (Temporal's REST gateway) on
	// that port; 0 (the default) serves none.
	HTTPPort int
	// UIPort serves the Web UI; negative disables it, 0 picks a free port.
	UIPort int
	// UICodecEndpoint, if set, is the codec server the Web UI decodes
	// payloads with. The UI sends no credential of its own to an http://
	// endpoint (see uiConfig), so a codec server that requires one must take
	// it from the URL itself (a capability path).
	UICodecEndpoint string
	// Namespace to create (default "default").
	Namespace string
	// SearchAttributes to register in the namespace.
	SearchAttributes map[string]enumspb.IndexedValueType
	// DynamicConfig overrides server dynamic config keys.
	DynamicConfig map[string]any
	// MetricsAddr, if set, serves the server's own metrics (Prometheus text,
	// every service's, told apart by the service_name label) at
	// http://MetricsAddr/metrics, a loopback address (port 0: a free one).
	// Empty: the server records none.
	MetricsAddr string
	// Logger receives the server's warnings and errors.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	server   temporal.Server
	ui       *uiserver.Server
	frontend string
	uiAddr   string
	ports    []Port
}

// Start starts the server and returns once its frontend accepts calls.
// Ports left to it (0) are picked free; if one is taken between the pick
// and the bind, it tries again with new ones.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for attempt := 1; ; attempt++ {
		s, err := start(cfg)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return s, err
		}
		cfg.Logger.Warn("a port was taken while the server started; retrying with new ports", "error", err)
	}
}

func start(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	conf, err := buildConfig(cfg)
	if err != nil {
		return nil, err
	}
	if isPostgres(cfg.Persistence) {
		main, vis, err := setupPostgres(cfg.Persistence, newLogger(cfg.Logger))
		if err != nil {
			return nil, err
		}
		conf.Persistence.DataStores = map[string]config.DataStore{"default": {SQL: main}, "visibility": {SQL: vis}}
		conf.Persistence.DefaultStore, conf.Persistence.VisibilityStore = "default", "visibility"
	} else if err := createNamespace(cfg, conf); err != nil {
		return nil, err
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(cfg.IP, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	// The server reports some start failures (a port taken) by a fatal log
	// call, which panics: turn it back into an error.
	var srv temporal.Server
	err = recoverFatal(func() error {
		var err error
		srv, err = temporal.NewServerFx(serverModule,
			temporal.WithConfig(conf),
			temporal.ForServices(temporal.DefaultServices),
			temporal.WithStaticHosts(hosts),
			temporal.WithLogger(newLogger(cfg.Logger)),
			temporal.WithDynamicConfigClient(dynamicConfig(cfg.DynamicConfig)),
		)
		if err != nil {
			return fmt.Errorf("devserver: %w", err)
		}
		if err := srv.Start(); err != nil {
			return fmt.Errorf("devserver: start: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &Server{server: srv, frontend: net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.FrontendPort)), ports: ports(cfg, conf)}
	if isPostgres(cfg.Persistence) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := registerNamespace(ctx, s.frontend, cfg.Namespace, cfg.SearchAttributes); err != nil {
			_ = srv.Stop()
			return nil, err
		}
	}
	if cfg.UIPort > 0 {
		s.startUI(cfg)
	}
	return s, nil
}

// withDefaults returns cfg with its defaults set, free ports picked for
// the frontend and the UI if none is given, and no data directory for an
// in-memory database; it fails on a non-loopback address (checkLoopback).
func (cfg Config) withDefaults() (Config, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := checkLoopback(&cfg); err != nil {
		return cfg, err
	}
	var err error
	if cfg.FrontendPort == 0 {
		if cfg.FrontendPort, err = freePort(cfg.IP); err != nil {
			return cfg, err
		}
	}
	if cfg.UIPort == 0 {
		if cfg.UIPort, err = freePort(cfg.IP); err != nil {
			return cfg, err
		}
	}
	if cfg.Persistence == "sqlite-memory" {
		cfg.DataDir = ""
	}
	return cfg, nil
}

// startUI serves the Web UI on cfg.IP:cfg.UIPort, in the background.
func (s *Server) startUI(cfg Config) {
	s.uiAddr = net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.UIPort))
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(uiConfig(cfg, s.frontend)))
	go func() {
		if err := s.ui.Start(); err != nil && !errors.Is(err, context.Canceled) {
			cfg.Logger.Error("temporal web ui stopped", "error", err)
		}
	}()
}

// uiConfig is the Web UI's configuration. The UI passes its signed-in user's
// access token to the codec server (Authorization: Bearer, and the ID token in
// Authorization-Extras) when PassAccessToken is on, but only to an https://
// endpoint: with it on, an http:// endpoint is not called at all and payloads
// stay encoded. So it is on for https:// endpoints only. This UI has no
// sign-in, hence no token to pass in any case.
func uiConfig(cfg Config, frontend string) *uiconfig.Config {
	return &uiconfig.Config{
		Host:                cfg.IP,
		Port:                cfg.UIPort,
		TemporalGRPCAddress: frontend,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespace,
		Codec: uiconfig.Codec{
			Endpoint:        cfg.UICodecEndpoint,
			PassAccessToken: strings.HasPrefix(cfg.UICodecEndpoint, "https://"),
		},
		CORS:             uiconfig.CORS{CookieInsecure: true},
		HideLogs:         true,
		DisableNewsFetch: true,
	}
}

// serverModule is the server's own module with its tracing configured here,
// off, rather than from the process's environment: server v1.32.1 reads
// OTEL_TRACES_EXPORTER and the OTLP variables itself, knows only "otlp" and
// fails to start on any other value, and would export its own spans
// wherever the application's go. The decorator replaces the span exporters
// the server would build (env and config alike) by none, so its tracer
// provider is a no-op and it never touches the global OpenTelemetry error
// handler either.
var serverModule = fx.Options(
	temporal.TopLevelModule,
	fx.Decorate(func() []sdktrace.SpanExporter { return nil }),
)

// FrontendAddress is the host:port Temporal clients dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIAddress is the host:port of the Web UI, "" if disabled.
func (s *Server) UIAddress() string { return s.uiAddr }

// Stop stops the UI and the server. Running workflows resume on the next
// Start with the same DataDir.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	_ = s.server.Stop()
}

// dynamicConfig holds the settings that make a one-shard embedded server
// responsive: without them every task waits for the next poll of the
// server's task queues (~50 ms each at the default 20 polls/s), and task
// queue stats (what admission control samples) are cached for 5s.
//
// Tasks are written to one partition of each task queue instead of four:
// with four, a closed loop of 30 sagas had a p99 of 5.4–5.9 s (workflow
// tasks waiting seconds to be picked up), with one 1.9–2.0 s at the same
// throughput (docs/performance.md, "The closed-loop tail"). Reads stay on
// four partitions, so that tasks a data directory holds from an earlier
// version on partitions 1–3 are still polled: lowering the read partitions
// first would strand them.
func dynamicConfig(overrides map[string]any) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		dynamicconfig.TaskQueueInfoByBuildIdTTL.Key():                    50 * time.Millisecond,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8192,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 1000,
		dynamicconfig.TransferProcessorMaxPollRPS.Key():                  1000,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():                     1000,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key():                1000,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():          1,
	}
	for k, v := range overrides {
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

func buildConfig(cfg Config) (*config.Config, error) {
	sqlConf := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		DatabaseName:      "ordersaga-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("devserver: data dir: %w", err)
		}
		sqlConf.DatabaseName = filepath.Join(cfg.DataDir, "temporal.db")
		sqlConf.ConnectAttributes = map[string]string{
			"mode": "rwc", "setup": "true",
			"journal_mode": "wal", "synchronous": "normal", "busy_timeout": "10000",
		}
	}
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = cfg.IP
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	frontend := net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.FrontendPort))
	var err error
	var httpAddr string // no HTTP API unless asked for
	if cfg.HTTPPort > 0 {
		httpAddr = net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.HTTPPort))
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             frontend,
			HTTPAddress:            httpAddr,
			ClusterID:              "ordersaga-dev",
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = cfg.IP
		if name == "frontend" {
			svc.RPC.GRPCPort = cfg.FrontendPort
			svc.RPC.HTTPPort = cfg.HTTPPort // 0: no HTTP API
		} else if svc.RPC.GRPCPort, err = freePort(cfg.IP); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	if cfg.MetricsAddr != "" {
		conf.Global.Metrics = &metrics.Config{Prometheus: &metrics.PrometheusConfig{
			Framework: metrics.FrameworkOpentelemetry, ListenAddress: cfg.MetricsAddr, HandlerPath: "/metrics"}}
	}
	return &conf, nil
}

// createNamespace writes the namespace, with its search attributes, straight
// into the database; it is a no-op when the namespace exists.
func createNamespace(cfg Config, conf *config.Config) error {
	// With "setup" the plugin creates the schema of a new file first.
	sqlConf := conf.Persistence.DataStores["sqlite"].SQL
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, cfg.SearchAttributes)
	if err != nil {
		return fmt.Errorf("devserver: namespace: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return fmt.Errorf("devserver: create namespace in %s: %w", sqlConf.DatabaseName, err)
	}
	return nil
}

// freePort asks the kernel for a free TCP port on ip. Every port the server
// opens is named beforehand (no kernel-chosen port at bind time), so that
// Ports lists them all.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("devserver: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
