//go:build !slim

package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench"
	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench/baseline"
	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench/floor"
	"github.com/ordersaga/ordersaga/workers"
)

// The runs of bench --compare, by name.
const (
	runOurs          = "ordersaga"
	runBaseline      = "baseline"
	runBaselineSplit = "baseline-split"
	runFloor         = "floor"
)

// comparePeers are the runs ours is compared with, in report order.
var comparePeersNames = []string{runBaseline, runBaselineSplit, runFloor}

// compareDrivers returns the four drivers of repetition i, rotated by i so
// that each runs in every position as often as the others (a drift of the
// machine weighs on all alike).
func compareDrivers(i int, prefix string, order bench.Order, q floor.Queues, ours func(*benchEnv) bench.Driver) []func(*benchEnv) bench.Driver {
	base := func(e *benchEnv, label string) bench.BaselineDriver {
		return bench.BaselineDriver{Client: e.c, Watch: e.watch, Order: order, Prefix: prefix, Label: label}
	}
	drivers := []func(*benchEnv) bench.Driver{
		ours,
		func(e *benchEnv) bench.Driver { d := base(e, runBaseline); return &d },
		func(e *benchEnv) bench.Driver {
			return &bench.SplitBaselineDriver{BaselineDriver: base(e, runBaselineSplit)}
		},
		func(e *benchEnv) bench.Driver {
			return &bench.FloorDriver{BaselineDriver: base(e, runFloor), Queues: q}
		},
	}
	n := i % len(drivers)
	return append(drivers[n:], drivers[:n]...)
}

// floorQueues are the floor's queues for --topology.
func (b *BenchCmd) floorQueues() floor.Queues {
	if b.Topology == "single" {
		return floor.SingleQueues
	}
	return floor.SplitQueues
}

// compareWorkers are the workers --compare adds to the embedded stack
// beside ours and the baseline's: the split baseline's workflow worker
// (its activities run on ours' services' workers) and the floor's, with
// ours' worker settings.
func (b *BenchCmd) compareWorkers() []func(client.Client, workers.Activities) worker.Worker {
	out := []func(client.Client, workers.Activities) worker.Worker{
		func(c client.Client, _ workers.Activities) worker.Worker { return baseline.NewSplitWorker(c) },
	}
	q := b.floorQueues()
	opts := worker.Options{
		MaxConcurrentWorkflowTaskPollers: b.WorkflowPollers,
		MaxConcurrentActivityTaskPollers: b.ActivityPollers,
		StickyScheduleToStartTimeout:     b.StickyTimeout,
	}
	// One hook per worker: the stack starts each hook's worker, all made
	// by the first hook called.
	var made []worker.Worker
	for k := range len(q.Distinct()) {
		out = append(out, func(c client.Client, _ workers.Activities) worker.Worker {
			if made == nil {
				made = floor.NewWorkers(c, q, opts)
			}
			return made[k]
		})
	}
	return out
}

// comparePeers returns, by peer, the median over the repetitions of each
// ratio ours/peer (runs of one repetition share their Repeat).
func comparePeers(runs []bench.Report) map[string]map[string]float64 {
	byRepeat := map[int]map[string]bench.Report{}
	for _, r := range runs {
		if byRepeat[r.Repeat] == nil {
			byRepeat[r.Repeat] = map[string]bench.Report{}
		}
		byRepeat[r.Repeat][r.Name] = r
	}
	out := map[string]map[string]float64{}
	for _, peer := range comparePeersNames {
		values := map[string][]float64{}
		for _, rep := range byRepeat {
			ours, ok1 := rep[runOurs]
			other, ok2 := rep[peer]
			if !ok1 || !ok2 {
				continue
			}
			for k, v := range ratios(ours, other) {
				values[k] = append(values[k], v)
			}
		}
		if len(values) > 0 {
			out[peer] = map[string]float64{}
			for k, vs := range values {
				out[peer][k] = median(vs)
			}
		}
	}
	return out
}

// median returns the median of vs (not empty); it sorts vs.
func median(vs []float64) float64 {
	slices.Sort(vs)
	if len(vs)%2 == 0 {
		return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	return vs[len(vs)/2]
}

// printCompare prints the runs of bench --compare one per line, then the
// median ratios ours/peer.
func printCompare(w io.Writer, rep BenchReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d.Microseconds())/1000) }
	fmt.Fprintln(tw, "run\t#\tcompleted (failed)\tcompleted/s\tCPU ms/saga\ttransitions/saga\te2e p50/p90/p99/max ms\t")
	for _, r := range rep.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%d (%d)\t%.1f\t%.1f\t%.1f\t%s/%s/%s/%s\t\n", r.Name, r.Repeat, r.Completed, r.Failed, r.PerSecond,
			r.CPUSecondsPerSaga*1000, r.TransitionsPerSaga, ms(r.EndToEnd.P50), ms(r.EndToEnd.P90), ms(r.EndToEnd.P99), ms(r.EndToEnd.Max))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "ours/peer (median)\tcompleted/s\tCPU/saga\ttransitions/saga\te2e p50\te2e p99\t")
	for _, peer := range comparePeersNames {
		r, ok := rep.Compare[peer]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "ordersaga/%s\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t\n", peer, r["completed_per_second"], r["cpu_seconds_per_saga"],
			r["transitions_per_saga"], r["end_to_end_p50"], r["end_to_end_p99"])
	}
	_ = tw.Flush()
}
