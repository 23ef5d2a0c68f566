//go:build !slim

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench"
	"github.com/ordersaga/ordersaga/workflows"
)

// Names of the runs of bench --read, in report order.
const (
	runSeed       = "seed: sagas to read"
	runFirstReads = "first read of each order"
	runOrderReads = "GET /v1/orders/{id}"
	runEventReads = "GET /v1/orders/{id}/events"
	runAlone      = "sagas alone"
	runWithReads  = "sagas with reads beside"
	runBeside     = "reads beside the sagas"
)

// runReads is bench --read. It completes --orders sagas, then reads them:
// each once (the API has not read them yet), then --readers readers of GET
// /v1/orders/{id} and of GET /v1/orders/{id}/events for --duration each.
// Then it runs sagas for --duration four times: alone, with reads of the
// finished orders at --read-rate beside them, with again, and alone again.
// It prints the rate and latencies of each run and the ratios orders/events
// and sagas with reads/alone, all from this one run.
func (b *BenchCmd) runReads(ctx context.Context, c client.Client, w *bench.Watcher, apiURL string, order bench.Order, runID string, log *slog.Logger, stdout io.Writer) error {
	r := &readBench{b: b, c: c, w: w, apiURL: apiURL, order: order, runID: runID, report: BenchReport{Args: os.Args[1:]}}
	if err := r.run(r.sagas(ctx, runSeed, bench.Config{Orders: b.Orders, Concurrency: b.Concurrency})); err != nil {
		return err
	}
	var orders, events []string
	for _, id := range r.report.Runs[0].WorkflowIDs() {
		path := "/v1/orders/" + strings.TrimPrefix(id, workflows.WorkflowID(""))
		orders, events = append(orders, path), append(events, path+"/events")
	}
	if len(orders) == 0 {
		return b.finish(r.report, log) // fails, naming why no saga completed
	}
	closedLoop := bench.Config{Duration: b.Duration, Concurrency: b.Readers}
	if err := r.run(r.reads(ctx, runFirstReads, bench.Config{Orders: len(orders), Concurrency: b.Readers}, orders)); err != nil {
		return err
	}
	if err := r.run(r.reads(ctx, runOrderReads, closedLoop, orders)); err != nil {
		return err
	}
	if err := r.run(r.reads(ctx, runEventReads, closedLoop, events)); err != nil {
		return err
	}
	// Alone, with, with, alone: a drift of the machine's speed over the
	// runs (other load, a growing Temporal database) weighs on both sides
	// alike.
	for _, withReads := range []bool{false, true, true, false} {
		if err := r.mixed(ctx, withReads, orders); err != nil {
			return err
		}
	}
	perSecond := r.perSecond()
	r.report.Ratios = map[string]float64{
		"order_reads_over_event_reads": ratio(perSecond(runOrderReads), perSecond(runEventReads)),
		"sagas_with_reads_over_alone":  ratio(perSecond(runWithReads), perSecond(runAlone)),
	}
	b.printReads(stdout, r.report, perSecond(runAlone), perSecond(runWithReads), len(orders))
	return b.finish(r.report, log)
}

// readBench is one run of bench --read: its report so far and how to add
// runs to it.
type readBench struct {
	b      *BenchCmd
	c      client.Client
	w      *bench.Watcher
	apiURL string
	order  bench.Order
	runID  string
	report BenchReport
}

// sagas runs sagas under cfg, as the run called name.
func (r *readBench) sagas(ctx context.Context, name string, cfg bench.Config) (bench.Report, error) {
	if !r.b.Quiet {
		cfg.Progress = os.Stderr
	}
	rep, err := bench.Run(ctx, cfg, r.b.sagaDriver(r.c, r.w, r.apiURL, r.order, fmt.Sprintf("%s-%d", r.runID, len(r.report.Runs))))
	rep.Name = name
	return rep, err
}

// reads reads paths under cfg, as the run called name.
func (r *readBench) reads(ctx context.Context, name string, cfg bench.Config, paths []string) (bench.Report, error) {
	return bench.Run(ctx, cfg, &bench.ReadDriver{Label: name, BaseURL: r.apiURL, HTTP: r.b.httpClient(r.b.Readers), Paths: paths})
}

// run adds a run's report, and returns its error.
func (r *readBench) run(rep bench.Report, err error) error {
	r.report.Runs = append(r.report.Runs, rep)
	return err
}

// mixed runs sagas for --duration, with reads of orders at --read-rate
// beside them if withReads.
func (r *readBench) mixed(ctx context.Context, withReads bool, orders []string) error {
	b := r.b
	sagaLoad := bench.Config{Duration: b.Duration, Rate: b.Rate, Concurrency: b.Concurrency}
	if !withReads {
		return r.run(r.sagas(ctx, runAlone, sagaLoad))
	}
	var (
		wg        sync.WaitGroup
		beside    bench.Report
		besideErr error
	)
	wg.Go(func() {
		beside, besideErr = r.reads(ctx, runBeside, bench.Config{Duration: b.Duration, Rate: b.ReadRate, Concurrency: b.Readers}, orders)
	})
	with, err := r.sagas(ctx, runWithReads, sagaLoad)
	wg.Wait()
	if err := r.run(with, err); err != nil {
		return err
	}
	return r.run(beside, besideErr)
}

// perSecond returns the rate of the runs of a name, averaged: the mixed
// runs are two of each.
func (r *readBench) perSecond() func(name string) float64 {
	byName := map[string][]bench.Report{}
	for _, rep := range r.report.Runs {
		byName[rep.Name] = append(byName[rep.Name], rep)
	}
	return func(name string) float64 {
		var sum float64
		for _, rep := range byName[name] {
			sum += rep.PerSecond
		}
		return sum / float64(len(byName[name]))
	}
}

func (b *BenchCmd) printReads(w io.Writer, report BenchReport, alone, with float64, orders int) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "reads of %d finished orders, %d readers, %s each\n", orders, b.Readers, b.Duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tper second\tp50 ms\tp99 ms\tfailed\t")
	for _, r := range report.Runs {
		lat := r.Start // a read's latency; a saga's is end to end
		if r.Name == runSeed || r.Name == runAlone || r.Name == runWithReads {
			lat = r.EndToEnd
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%d\t\n", r.Name, r.PerSecond, ms(lat.P50), ms(lat.P99), r.Failed)
	}
	_ = tw.Flush()
	rate := fmt.Sprintf("%g reads/s", b.ReadRate)
	if b.ReadRate <= 0 {
		rate = fmt.Sprintf("%d readers", b.Readers)
	}
	fmt.Fprintf(w, "orders/events reads/s: %.2f×\n", report.Ratios["order_reads_over_event_reads"])
	fmt.Fprintf(w, "sagas/s (%d in flight, %s each run): alone %.1f, with %s beside them %.1f: with/alone %.2f×\n",
		b.Concurrency, b.Duration, alone, rate, with, report.Ratios["sagas_with_reads_over_alone"])
}
