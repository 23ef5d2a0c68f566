//go:build !slim

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench"
)

// medianRatios pairs each run of ours with the baseline's run of the same
// repetition (runs come in pairs, in either order; the baseline's name
// starts with "baseline") and returns the median of each ours/baseline
// ratio over the pairs.
func medianRatios(runs []bench.Report) map[string]float64 {
	byName := map[string][]float64{}
	for i := 0; i+1 < len(runs); i += 2 {
		ours, base := runs[i], runs[i+1]
		if strings.HasPrefix(ours.Name, "baseline") {
			ours, base = base, ours
		}
		for k, v := range ratios(ours, base) {
			byName[k] = append(byName[k], v)
		}
	}
	out := map[string]float64{}
	for k, vs := range byName {
		slices.Sort(vs)
		out[k] = vs[len(vs)/2]
		if len(vs)%2 == 0 {
			out[k] = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
		}
	}
	return out
}

func ratios(ours, base bench.Report) map[string]float64 {
	return map[string]float64{
		"completed_per_second": ratio(ours.PerSecond, base.PerSecond),
		"end_to_end_p50":       ratio(float64(ours.EndToEnd.P50), float64(base.EndToEnd.P50)),
		"end_to_end_p99":       ratio(float64(ours.EndToEnd.P99), float64(base.EndToEnd.P99)),
		"transitions_per_saga": ratio(ours.TransitionsPerSaga, base.TransitionsPerSaga),
		"cpu_seconds_per_saga": ratio(ours.CPUSecondsPerSaga, base.CPUSecondsPerSaga),
	}
}

// ratio is a/b, or 0 when b is.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func printReport(w io.Writer, rep BenchReport) {
	if rep.Compare != nil {
		printCompare(w, rep)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	row := func(label string, f func(r bench.Report) string, ratio string) {
		fmt.Fprint(tw, label+"\t")
		for _, r := range rep.Runs {
			fmt.Fprint(tw, f(r)+"\t")
		}
		if len(rep.Ratios) > 0 {
			fmt.Fprint(tw, ratio+"\t")
		}
		fmt.Fprintln(tw)
	}
	ratio := func(k string) string {
		if v, ok := rep.Ratios[k]; ok {
			return fmt.Sprintf("%.2f×", v)
		}
		return ""
	}
	header := "\t"
	for _, r := range rep.Runs {
		header += r.Name + "\t"
	}
	if len(rep.Ratios) > 0 && len(rep.Runs) > 2 {
		header += "ours/baseline (median)\t"
	} else if len(rep.Ratios) > 0 {
		header += "ours/baseline\t"
	}
	fmt.Fprintln(tw, header)
	row("sagas completed (failed)", func(r bench.Report) string { return fmt.Sprintf("%d (%d)", r.Completed, r.Failed) }, "")
	row("orders rejected (429)", func(r bench.Report) string { return fmt.Sprint(r.Rejected) }, "")
	row("completed/s", func(r bench.Report) string { return fmt.Sprintf("%.1f", r.PerSecond) }, ratio("completed_per_second"))
	row("start p50/p90/p99/max ms", func(r bench.Report) string {
		return ms(r.Start.P50) + "/" + ms(r.Start.P90) + "/" + ms(r.Start.P99) + "/" + ms(r.Start.Max)
	}, "")
	row("end-to-end p50/p90/p99/max ms", func(r bench.Report) string {
		return ms(r.EndToEnd.P50) + "/" + ms(r.EndToEnd.P90) + "/" + ms(r.EndToEnd.P99) + "/" + ms(r.EndToEnd.Max)
	}, ratio("end_to_end_p50")+" (p50)")
	row("state transitions/saga", func(r bench.Report) string { return fmt.Sprintf("%.1f", r.TransitionsPerSaga) }, ratio("transitions_per_saga"))
	row("CPU ms/saga (this process)", func(r bench.Report) string { return fmt.Sprintf("%.1f", r.CPUSecondsPerSaga*1000) }, ratio("cpu_seconds_per_saga"))
	row("errors", func(r bench.Report) string {
		if len(r.Errors) == 0 {
			return "none"
		}
		s := ""
		for k, v := range r.Errors {
			s += fmt.Sprintf("%s=%d ", k, v)
		}
		return s
	}, "")
	_ = tw.Flush()
	for _, r := range rep.Runs {
		if sl := r.Slowest; sl != nil {
			fmt.Fprintf(w, "slowest %s: %s end to end; longest history gap %s, between %s and %s\n", sl.WorkflowID,
				sl.EndToEnd.Round(time.Millisecond), sl.Gap.Round(time.Millisecond), sl.GapAfter, sl.GapBefore)
		}
	}
}
