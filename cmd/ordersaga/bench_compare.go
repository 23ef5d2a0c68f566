//go:build !slim

package main

import (
	"fmt"
	"io"
	"maps"
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
func (b *BenchCmd) compareWorkers() []func(client.Client, []workers.Service) worker.Worker {
	out := []func(client.Client, []workers.Service) worker.Worker{
		func(c client.Client, _ []workers.Service) worker.Worker { return baseline.NewSplitWorker(c) },
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
		out = append(out, func(c client.Client, _ []workers.Service) worker.Worker {
			if made == nil {
				made = floor.NewWorkers(c, q, opts)
			}
			return made[k]
		})
	}
	return out
}

// featureVariants are the runs of bench --features: ours, the floor, and
// the floor with each feature of ours added (or, sequential, the parallel
// steps taken away).
var featureVariants = []struct {
	name string
	f    floor.Features
}{
	{runFloor, floor.Features{}},
	{"floor+start-attributes", floor.Features{StartAttributes: true}},
	{"floor+status-upsert", floor.Features{StatusUpsert: true}},
	{"floor+summaries", floor.Features{Summaries: true}},
	{"floor+all", floor.Features{StartAttributes: true, StatusUpsert: true, Summaries: true}},
	{"floor-sequential", floor.Features{Sequential: true}},
}

// featureDrivers returns ours and the floor variants of repetition i,
// rotated by i.
func featureDrivers(i int, prefix string, order bench.Order, q floor.Queues, ours func(*benchEnv) bench.Driver) []func(*benchEnv) bench.Driver {
	drivers := []func(*benchEnv) bench.Driver{ours}
	for _, v := range featureVariants {
		drivers = append(drivers, func(e *benchEnv) bench.Driver {
			return &bench.FloorDriver{BaselineDriver: bench.BaselineDriver{Client: e.c, Watch: e.watch, Order: order, Prefix: prefix + "-" + v.name, Label: v.name},
				Queues: q, Features: v.f}
		})
	}
	n := i % len(drivers)
	return append(drivers[n:], drivers[:n]...)
}

// featureRatios returns, by run, the median over the repetitions of each
// ratio run/floor.
func featureRatios(runs []bench.Report) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	names := []string{runOurs}
	for _, v := range featureVariants[1:] {
		names = append(names, v.name)
	}
	for _, name := range names {
		if r := medianRatiosOf(runs, name, runFloor); r != nil {
			out[name] = r
		}
	}
	return out
}

// comparePeers returns, by peer, the median over the repetitions of each
// ratio ours/peer.
func comparePeers(runs []bench.Report) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, peer := range comparePeersNames {
		if r := medianRatiosOf(runs, runOurs, peer); r != nil {
			out[peer] = r
		}
	}
	return out
}

// medianRatiosOf returns the median over the repetitions of each ratio of
// the run named a over the run named b of the same repetition (runs of one
// repetition share their Repeat); nil if no repetition has both.
func medianRatiosOf(runs []bench.Report, a, b string) map[string]float64 {
	byRepeat := map[int]map[string]bench.Report{}
	for _, r := range runs {
		if byRepeat[r.Repeat] == nil {
			byRepeat[r.Repeat] = map[string]bench.Report{}
		}
		byRepeat[r.Repeat][r.Name] = r
	}
	values := map[string][]float64{}
	for _, rep := range byRepeat {
		ra, ok1 := rep[a]
		rb, ok2 := rep[b]
		if !ok1 || !ok2 {
			continue
		}
		for k, v := range ratios(ra, rb) {
			values[k] = append(values[k], v)
		}
	}
	if len(values) == 0 {
		return nil
	}
	out := map[string]float64{}
	for k, vs := range values {
		out[k] = median(vs)
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
	if rep.features {
		fmt.Fprintln(tw, "run/floor (median)\tcompleted/s\tCPU/saga\ttransitions/saga\te2e p50\te2e p99\t")
	} else {
		fmt.Fprintln(tw, "ours/peer (median)\tcompleted/s\tCPU/saga\ttransitions/saga\te2e p50\te2e p99\t")
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Compare)) {
		r := rep.Compare[name]
		label := "ordersaga/" + name
		if rep.features {
			label = name + "/floor"
		}
		fmt.Fprintf(tw, "%s\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t%.2f×\t\n", label, r["completed_per_second"], r["cpu_seconds_per_saga"],
			r["transitions_per_saga"], r["end_to_end_p50"], r["end_to_end_p99"])
	}
	_ = tw.Flush()
}
