//go:build !slim

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench"
	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench/baseline"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// BenchCmd measures sagas end to end.
type BenchCmd struct {
	Target      string        `help:"Base URL of a running API to drive; empty starts an embedded stack (like dev) and drives that."`
	Via         string        `default:"api" enum:"api,temporal" help:"Start sagas through the HTTP API or the Temporal client directly (${enum})."`
	PreferWait  bool          `help:"With --via api: place each order with Prefer: wait=10, answered once its stock is reserved; the start latency is then the checkout's answer."`
	Rate        float64       `help:"Arrival rate in sagas/s (open loop); 0 runs a closed loop of --concurrency sagas."`
	Concurrency int           `default:"50" help:"Sagas in flight at most."`
	Orders      int           `help:"Sagas to run (with --duration: whichever ends first)."`
	Duration    time.Duration `help:"How long to drive load."`
	Baseline    bool          `help:"Also run the samples-style saga (one queue, defer compensations, default options) on the same stack and print ours/baseline ratios. Uses the Temporal client for both."`
	Compare     bool          `help:"Compare ours with its peers in one stack and one run: ordersaga (ours, in --topology), baseline (the samples-style saga on one queue), baseline-split (the same with each activity on its service's queue) and floor (a no-op saga of ours' shape on queues of ours' topology), alternating; report the median ratios ours/peer. Uses the Temporal client for all."`
	Features    bool          `help:"Measure the cost of ours' features: run ours, the floor (see --compare), and the floor with each of ours' features added (start-time search attributes, the final status upsert, summaries, all three) or its parallel steps made sequential, alternating; report the median ratios run/floor. Like --compare."`
	Topology    string        `default:"split" enum:"split,single" help:"Topology of the embedded stack's workers, and of the floor's queues: split (each service on its queue) or single (the services' steps on the orchestrator's queue)."`
	Repeat      int           `default:"1" help:"With --baseline or --compare: run each this many times, alternating (ours, baseline, baseline, ours, ...; --compare rotates the four), and report the median of the ours/peer ratios."`
	Fresh       bool          `help:"Start a new embedded stack (empty database) for each run, so that no run inherits what an earlier one left."`
	JSON        string        `name:"json" help:"Write the report as JSON to this file."`
	Report      string        `help:"Write the report as a self-contained HTML page (throughput and latency over time, the runs side by side) to this file."`
	SKU         string        `default:"bench-sku" help:"SKU every order buys (created with ample stock)."`
	Token       string        `default:"tok_ok" help:"Payment token of every order."`
	Transitions int           `default:"20" help:"Completed sagas sampled for state transitions per saga."`
	Quiet       bool          `help:"No progress bar."`
	CPUProfile  string        `help:"Write a CPU profile of this process (with an embedded stack: everything) to this file; with --compare, one per run, to this file's name with -<run>-<repetition> before its extension."`
	Read        bool          `help:"Measure reads instead: complete --orders sagas, read each once, then --readers readers of GET /v1/orders/{id} and of its /events for --duration each; then sagas for --duration alone and with reads at --read-rate beside them."`
	Readers     int           `default:"8" help:"Concurrent readers (--read)."`
	ReadRate    float64       `default:"100" help:"Reads/s of finished orders beside the sagas in --read's mixed run (0: --readers as fast as they go)."`

	StickyCacheSize int `help:"Workflows each worker of the embedded stack caches (the SDK's sticky cache); 0 turns sticky execution off, so every workflow task waits in the queue's one FIFO. Default: the SDK's (10000)." default:"-1"`

	TemporalDB      string            `env:"TEMPORAL_DB" default:"sqlite" help:"Embedded stack's persistence: sqlite (a file in a temporary directory), sqlite-memory, or a postgres:// URL."`
	TemporalConfig  map[string]string `help:"Embedded server dynamic config, key=value (repeatable)."`
	TemporalMetrics string            `help:"Serve the embedded server's own metrics (Prometheus) on this address, at /metrics."`

	TemporalConnFlags `embed:""` // of the stack at --target
	RedisFlags        `embed:""`
	RabbitFlags       `embed:""`
	WorkerFlags       `embed:""`
	AdmissionFlags    `embed:""`
}

// BenchReport is what --json writes.
type BenchReport struct {
	Args   []string           `json:"args"`
	Runs   []bench.Report     `json:"runs"`
	Ratios map[string]float64 `json:"ratios,omitempty"`
	// Compare holds, by peer (baseline, baseline-split, floor), the median
	// of each ratio ours/peer over the repetitions (bench --compare).
	Compare map[string]map[string]float64 `json:"ours_over,omitempty"`
	// features: Compare holds, by run, the ratios run/floor (bench
	// --features) instead.
	features bool
}

// Run drives the load, prints the report and writes --json.
func (b *BenchCmd) Run(ctx context.Context, log *slog.Logger, stdout io.Writer) error {
	if err := b.check(); err != nil {
		return err
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	runID := "bench-" + hex.EncodeToString(suffix[:])
	order := bench.Order{CustomerID: "bench", Items: []ordersaga.Item{{SKU: b.SKU, Quantity: 1}}, Token: b.Token}

	if b.StickyCacheSize >= 0 {
		worker.SetStickyWorkflowCacheSize(b.StickyCacheSize) // this process only: it is the bench's stack
	}
	whole := b.CPUProfile
	if b.Compare {
		whole = "" // one per run (measure)
	}
	stopProfile, err := b.startCPUProfile(whole)
	if err != nil {
		return err
	}
	defer stopProfile()
	env, err := b.open(ctx, runID, log)
	if err != nil {
		return err
	}
	defer func() { env.close() }()
	if b.Read {
		return b.runReads(ctx, env.c, env.watch, env.apiURL, order, runID, log, stdout)
	}
	cfg := bench.Config{Orders: b.Orders, Duration: b.Duration, Rate: b.Rate, Concurrency: b.Concurrency}
	if !b.Quiet {
		cfg.Progress = os.Stderr
	}
	report := BenchReport{Args: os.Args[1:]}
	for i := range max(1, b.Repeat) {
		for j, driver := range b.drivers(i, fmt.Sprintf("%s-%d", runID, i), order) {
			if b.Fresh && (i > 0 || j > 0) {
				env.close()
				next, err := b.open(ctx, fmt.Sprintf("%s-%d-%d", runID, i, j), log)
				if err != nil {
					env.close = func() {}
					return err
				}
				env = next
			}
			r, err := b.measure(ctx, cfg, env.c, driver(env), i+1, log)
			if err != nil {
				return err
			}
			if b.Repeat > 1 && b.Compare {
				r.Repeat = i + 1
			} else if b.Repeat > 1 {
				r.Name += fmt.Sprintf(" #%d", i+1)
			}
			report.Runs = append(report.Runs, r)
		}
	}
	switch {
	case b.Baseline:
		report.Ratios = medianRatios(report.Runs)
	case b.Features:
		report.Compare, report.features = featureRatios(report.Runs), true
	case b.Compare:
		report.Compare = comparePeers(report.Runs)
	}
	printReport(stdout, report)
	return b.finish(report, log)
}

// check refuses contradictory flags and applies those they imply.
func (b *BenchCmd) check() error {
	if b.Orders <= 0 && b.Duration <= 0 {
		return fmt.Errorf("bench: give --orders or --duration")
	}
	if b.Read && (b.Orders <= 0 || b.Duration <= 0 || b.Baseline || b.Compare || b.Features) {
		return fmt.Errorf("bench: --read needs --orders (finished orders to read) and --duration (of each run), and no --baseline, --compare or --features")
	}
	if b.Target != "" && (b.Compare || b.Features) {
		return fmt.Errorf("bench: --compare and --features run their peers' workers in an embedded stack: not with --target")
	}
	if b.Baseline && (b.Compare || b.Features) {
		return fmt.Errorf("bench: --baseline, or --compare or --features, not both")
	}
	if b.Features {
		b.Compare = true
	}
	if b.Baseline || b.Compare {
		b.Via = "temporal"
	}
	if b.Fresh && (b.Target != "" || b.Read) {
		return fmt.Errorf("bench: --fresh starts embedded stacks: not with --target or --read")
	}
	return nil
}

// drivers returns the drivers of repetition i, in the order to run them.
func (b *BenchCmd) drivers(i int, prefix string, order bench.Order) []func(*benchEnv) bench.Driver {
	ours := func(e *benchEnv) bench.Driver { return b.sagaDriver(e.c, e.watch, e.apiURL, order, prefix) }
	if b.Features {
		return featureDrivers(i, prefix, order, b.floorQueues(), ours)
	}
	if b.Compare {
		return compareDrivers(i, prefix, order, b.floorQueues(), ours)
	}
	drivers := []func(*benchEnv) bench.Driver{ours}
	if b.Baseline {
		drivers = append(drivers, func(e *benchEnv) bench.Driver {
			return &bench.BaselineDriver{Client: e.c, Watch: e.watch, Order: order, Prefix: prefix}
		})
		if i%2 == 1 {
			slices.Reverse(drivers) // ABBA: a drift of the machine weighs on both alike
		}
	}
	return drivers
}

// measure runs driver with cfg, then samples its sagas' state transitions
// and diagnoses its slowest saga through c.
func (b *BenchCmd) measure(ctx context.Context, cfg bench.Config, c client.Client, driver bench.Driver, repeat int, log *slog.Logger) (bench.Report, error) {
	path := ""
	if b.Compare && b.CPUProfile != "" {
		ext := filepath.Ext(b.CPUProfile)
		path = fmt.Sprintf("%s-%s-%d%s", strings.TrimSuffix(b.CPUProfile, ext), driver.Name(), repeat, ext)
	}
	stopProfile, err := b.startCPUProfile(path)
	if err != nil {
		return bench.Report{}, err
	}
	r, err := bench.Run(ctx, cfg, driver)
	stopProfile()
	if err != nil {
		return r, err
	}
	if err := bench.MeasureTransitions(ctx, c, &r, b.Transitions); err != nil {
		log.Warn("state transitions not measured", "error", err)
	}
	if err := bench.DiagnoseSlowest(ctx, c, &r); err != nil {
		log.Warn("slowest saga not diagnosed", "error", err)
	}
	return r, nil
}

// benchEnv is what the runs drive: a Temporal client, the API, and a
// Watcher of the sagas' closes.
type benchEnv struct {
	c      client.Client
	apiURL string
	watch  *bench.Watcher
	close  func()
}

// open starts an embedded stack in its own keyspace named by id (or dials
// --target), stocks the SKU and starts watching closes; close stops it all.
func (b *BenchCmd) open(ctx context.Context, id string, log *slog.Logger) (*benchEnv, error) {
	env := &benchEnv{apiURL: b.Target}
	var stops []func()
	if b.Target == "" {
		st, _, cleanup, err := b.startEmbedded(ctx, id, log)
		if err != nil {
			return nil, err
		}
		stops = append(stops, cleanup)
		env.c, env.apiURL = st.Client, "http://"+st.API
		if err := putStock(ctx, env.apiURL, b.SKU); err != nil {
			cleanup()
			return nil, err
		}
	} else {
		c, err := dialTemporalOnly(ctx, b.connection(), CodecFlags{}, nil, log)
		if err != nil {
			return nil, err
		}
		env.c = c.Client
		stops = append(stops, c.Close)
		if err := putStock(ctx, env.apiURL, b.SKU); err != nil {
			c.Close()
			return nil, err
		}
	}
	env.watch = &bench.Watcher{C: env.c}
	wctx, stopWatch := context.WithCancel(ctx)
	go env.watch.Run(wctx)
	stops = append(stops, stopWatch)
	env.close = func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}
	return env, nil
}

// startCPUProfile starts a CPU profile to path, if not empty; stop ends it.
func (b *BenchCmd) startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// sagaDriver starts sagas through --via, and waits for them through w;
// prefix makes the order IDs of a run unique when they are made here (--via
// temporal).
func (b *BenchCmd) sagaDriver(c client.Client, w *bench.Watcher, apiURL string, order bench.Order, prefix string) bench.Driver {
	if b.Via == "api" {
		d := &bench.APIDriver{BaseURL: apiURL, Client: c, Watch: w, Order: order, HTTP: b.httpClient(b.Concurrency)}
		if b.PreferWait {
			d.PreferWait = api.MaxPreferWait * time.Second
		}
		return d
	}
	// Approvals are the orchestrator's to decide: the embedded stack's are
	// off (startEmbedded).
	return &bench.TemporalDriver{Sagas: sagaclient.New(c),
		Client: c, Watch: w, Order: order, Prefix: prefix}
}

func (b *BenchCmd) httpClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
}

// finish writes --json and --report, logs the runs' failures and fails if
// any saga or read failed.
func (b *BenchCmd) finish(report BenchReport, log *slog.Logger) error {
	if b.JSON != "" {
		raw, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(b.JSON, append(raw, '\n'), 0o644); err != nil {
			return err
		}
	}
	if b.Report != "" {
		var page bytes.Buffer
		doc := bench.Document{Title: "ordersaga bench", Command: "ordersaga " + strings.Join(report.Args, " "), Runs: report.Runs,
			Ratios: report.Ratios, Compare: report.Compare}
		if err := bench.WriteHTML(&page, doc); err != nil {
			return err
		}
		if err := os.WriteFile(b.Report, page.Bytes(), 0o644); err != nil {
			return err
		}
	}
	for _, r := range report.Runs {
		for k, msg := range r.ErrorSamples {
			log.Warn("failures", "run", r.Name, "kind", k, "count", r.Errors[k], "example", msg)
		}
		if r.Failed > 0 {
			return fmt.Errorf("bench: %s: %d of %d failed", r.Name, r.Failed, r.Started)
		}
	}
	return nil
}

// startEmbedded starts a dev stack on free ports, in its own keyspace and
// exchange, with approvals off; cleanup stops it and deletes its data.
func (b *BenchCmd) startEmbedded(ctx context.Context, runID string, log *slog.Logger) (*devStack, RedisFlags, func(), error) {
	dir, err := os.MkdirTemp("", "ordersaga-bench-")
	if err != nil {
		return nil, RedisFlags{}, nil, err
	}
	rf := b.RedisFlags
	rf.RedisKeyPrefix = runID + ":"
	rab := b.RabbitFlags
	rab.RabbitMQExchange = runID + ".events"
	d := &DevCmd{
		DataDir: dir, TemporalNamespace: "default", UIPort: -1, Topology: b.Topology, TemporalDB: b.TemporalDB, TemporalConfig: b.TemporalConfig, TemporalMetrics: b.TemporalMetrics,
		RedisFlags: rf, RabbitFlags: rab,
		TimelineFlags:      TimelineFlags{TimelineQueue: runID + ".timeline", TimelinePrefetch: 256, TimelineDeliveryLimit: 5},
		SagaFlags:          SagaFlags{ApprovalThresholdCents: -1, ApprovalTimeout: time.Hour, CompensationAlertAttempts: 10, CompensationMaxInterval: time.Minute},
		PaymentClientFlags: PaymentClientFlags{PaymentTimeout: 2 * time.Second, PaymentBreakerFailures: 5, PaymentBreakerOpen: 5 * time.Second},
		ProviderFlags:      ProviderFlags{ProviderAddr: "127.0.0.1:0", ProviderSlowDelay: 3 * time.Second, ProviderFlakyFailures: 2},
		APIFlags:           APIFlags{APIAddr: "127.0.0.1:0", MaxBodyBytes: 1 << 16, APIRequestTimeout: benchRequestTimeout, AdmissionFlags: b.AdmissionFlags},
		WorkerFlags:        b.WorkerFlags,
		// Time to answer a request that took its whole read timeout, for as
		// long as APIRequestTimeout lets a request run.
		HTTPFlags: HTTPFlags{HTTPWriteTimeout: defaultReadTimeout + benchRequestTimeout + 5*time.Second},
	}
	if b.Baseline || b.Compare {
		d.ExtraWorkers = append(d.ExtraWorkers, func(c client.Client, hosted []workers.Service) worker.Worker {
			var acts []any
			for _, s := range hosted {
				if s.Activities != nil {
					acts = append(acts, s.Activities)
				}
			}
			return baseline.NewWorker(c, acts...)
		})
	}
	if b.Compare {
		d.ExtraWorkers = append(d.ExtraWorkers, b.compareWorkers()...)
	}
	st, err := startDev(ctx, d, log)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, rf, nil, err
	}
	cleanup := func() {
		st.Stop()
		_ = os.RemoveAll(dir)
		_ = rab.topology().DeleteAt(context.Background(), rab.RabbitMQURL, d.TimelineQueue)
		if pool, err := openRedis(context.Background(), rf.RedisURL); err == nil {
			_ = redislua.DeletePrefix(context.Background(), pool.get(rf.RedisURL), rf.RedisKeyPrefix)
			pool.Close()
		}
	}
	return st, rf, cleanup, nil
}

func putStock(ctx context.Context, apiURL, sku string) error {
	body, _ := json.Marshal(map[string]int64{"available": 1_000_000_000, "price_cents": 1000})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, apiURL+"/v1/inventory/"+sku, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: stock %s: %w", sku, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: stock %s: status %d", sku, resp.StatusCode)
	}
	return nil
}

// benchRequestTimeout bounds each request to the bench's embedded API.
const benchRequestTimeout = 10 * time.Second
