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
	report := BenchReport{Args: os.Args[1:]}
	sagas := func(name string, cfg bench.Config) (bench.Report, error) {
		if !b.Quiet {
			cfg.Progress = os.Stderr
		}
		r, err := bench.Run(ctx, cfg, b.sagaDriver(c, w, apiURL, order, fmt.Sprintf("%s-%d", runID, len(report.Runs))))
		r.Name = name
		return r, err
	}
	reads := func(name string, cfg bench.Config, paths []string) (bench.Report, error) {
		return bench.Run(ctx, cfg, &bench.ReadDriver{Label: name, BaseURL: apiURL, HTTP: b.httpClient(b.Readers), Paths: paths})
	}
	run := func(r bench.Report, err error) error {
		report.Runs = append(report.Runs, r)
		return err
	}

	if err := run(sagas(runSeed, bench.Config{Orders: b.Orders, Concurrency: b.Concurrency})); err != nil {
		return err
	}
	var orders, events []string
	for _, id := range report.Runs[0].WorkflowIDs() {
		path := "/v1/orders/" + strings.TrimPrefix(id, workflows.WorkflowID(""))
		orders, events = append(orders, path), append(events, path+"/events")
	}
	if len(orders) == 0 {
		return b.finish(report, log) // fails, naming why no saga completed
	}
	closedLoop := bench.Config{Duration: b.Duration, Concurrency: b.Readers}
	if err := run(reads(runFirstReads, bench.Config{Orders: len(orders), Concurrency: b.Readers}, orders)); err != nil {
		return err
	}
	if err := run(reads(runOrderReads, closedLoop, orders)); err != nil {
		return err
	}
	if err := run(reads(runEventReads, closedLoop, events)); err != nil {
		return err
	}

	// Alone, with, with, alone: a drift of the machine's speed over the
	// runs (other load, a growing Temporal database) weighs on both sides
	// alike.
	sagaLoad := bench.Config{Duration: b.Duration, Rate: b.Rate, Concurrency: b.Concurrency}
	for _, withReads := range []bool{false, true, true, false} {
		if !withReads {
			if err := run(sagas(runAlone, sagaLoad)); err != nil {
				return err
			}
			continue
		}
		var (
			wg        sync.WaitGroup
			beside    bench.Report
			besideErr error
		)
		wg.Go(func() {
			beside, besideErr = reads(runBeside, bench.Config{Duration: b.Duration, Rate: b.ReadRate, Concurrency: b.Readers}, orders)
		})
		with, err := sagas(runWithReads, sagaLoad)
		wg.Wait()
		if err := run(with, err); err != nil {
			return err
		}
		if err := run(beside, besideErr); err != nil {
			return err
		}
	}

	// Runs of the same name (the mixed runs) are merged: their rates averaged.
	byName := map[string][]bench.Report{}
	for _, r := range report.Runs {
		byName[r.Name] = append(byName[r.Name], r)
	}
	perSecond := func(name string) float64 {
		var sum float64
		for _, r := range byName[name] {
			sum += r.PerSecond
		}
		return sum / float64(len(byName[name]))
	}
	report.Ratios = map[string]float64{
		"order_reads_over_event_reads": ratio(perSecond(runOrderReads), perSecond(runEventReads)),
		"sagas_with_reads_over_alone":  ratio(perSecond(runWithReads), perSecond(runAlone)),
	}
	b.printReads(stdout, report, perSecond(runAlone), perSecond(runWithReads), len(orders))
	return b.finish(report, log)
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
