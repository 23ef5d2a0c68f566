package bench

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Document is what WriteHTML renders: the runs of one bench invocation.
type Document struct {
	Title string
	// Command is the command line that produced the runs.
	Command string
	Runs    []Report
	// Ratios are ours/baseline ratios by name, if the runs compare two.
	Ratios map[string]float64
	// Compare holds, by peer, the median ratios ours/peer by name, if the
	// runs compare ours with several peers (bench --compare).
	Compare map[string]map[string]float64
}

// WriteHTML writes d as a self-contained HTML page (inline SVG, no script,
// nothing fetched): a table of the runs, their throughput and end-to-end
// latency percentiles over time, and the runs side by side.
func WriteHTML(w io.Writer, d Document) error {
	var charts []template.HTML
	for _, f := range []func([]Report) (*bytes.Buffer, error){throughputChart, latencyChart, comparisonChart} {
		svg, err := f(d.Runs)
		if err != nil {
			return fmt.Errorf("bench: chart: %w", err)
		}
		charts = append(charts, template.HTML(svg.String())) //nolint:gosec // gonum's own SVG output
	}
	return page.Execute(w, struct {
		Document
		Charts []template.HTML
	}{d, charts})
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":     func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d.Microseconds())/1000) },
	"f1":     func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"cpu":    func(v float64) string { return fmt.Sprintf("%.1f", v*1000) },
	"x":      func(v float64) string { return fmt.Sprintf("%.2f×", v) },
	"letter": runLetter,
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th:first-child,td:first-child{text-align:left}
code{background:#f4f4f4;padding:.2em}</style></head><body>
<h1>{{.Title}}</h1>
<p><code>{{.Command}}</code></p>
<table><tr><th>run (chart label)</th><th>completed</th><th>failed</th><th>rejected (429)</th><th>completed/s</th>
<th>e2e p50 / p90 / p99 / max ms</th><th>CPU ms/saga</th><th>transitions/saga</th></tr>
{{range $i, $r := .Runs}}{{with $r}}<tr><td>{{.Name}}{{if .Repeat}} #{{.Repeat}}{{end}} ({{letter $i}})</td><td>{{.Completed}}</td><td>{{.Failed}}</td><td>{{.Rejected}}</td><td>{{f1 .PerSecond}}</td>
<td>{{ms .EndToEnd.P50}} / {{ms .EndToEnd.P90}} / {{ms .EndToEnd.P99}} / {{ms .EndToEnd.Max}}</td>
<td>{{cpu .CPUSecondsPerSaga}}</td><td>{{f1 .TransitionsPerSaga}}</td></tr>
{{end}}{{end}}</table>
{{with .Ratios}}<p>ours/baseline: {{range $k, $v := .}}{{$k}} {{x $v}}; {{end}}</p>{{end}}
{{with .Compare}}<h2>ours/peer (with --features: run/floor), median over the repetitions</h2><table><tr><th>peer</th><th>completed/s</th><th>CPU/saga</th><th>transitions/saga</th><th>e2e p50</th><th>e2e p99</th></tr>
{{range $peer, $r := .}}<tr><td>{{$peer}}</td><td>{{x (index $r "completed_per_second")}}</td><td>{{x (index $r "cpu_seconds_per_saga")}}</td><td>{{x (index $r "transitions_per_saga")}}</td><td>{{x (index $r "end_to_end_p50")}}</td><td>{{x (index $r "end_to_end_p99")}}</td></tr>
{{end}}</table>{{end}}
{{range .Charts}}<div>{{.}}</div>
{{end}}</body></html>
`))

// palette colours the runs, in order.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

func runColor(i int) color.Color { return palette[i%len(palette)] }

// line adds a line of points (x, y(point)) to p, named for the legend.
func line(p *plot.Plot, name string, pts []Point, y func(Point) (float64, bool), c color.Color, dashed bool) error {
	var xys plotter.XYs
	for _, pt := range pts {
		if v, ok := y(pt); ok {
			xys = append(xys, plotter.XY{X: pt.T + pt.Width/2, Y: v})
		}
	}
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since the run started"
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

func throughputChart(runs []Report) (*bytes.Buffer, error) {
	p := newPlot("Throughput over time", "per second")
	for i, r := range runs {
		perSecond := func(n func(Point) int) func(Point) (float64, bool) {
			return func(pt Point) (float64, bool) { return float64(n(pt)) / pt.Width, true }
		}
		if err := line(p, r.Name+" completed/s", r.Series, perSecond(func(pt Point) int { return pt.Completed }), runColor(i), false); err != nil {
			return nil, err
		}
		if r.Rejected > 0 {
			if err := line(p, r.Name+" rejected (429)/s", r.Series, perSecond(func(pt Point) int { return pt.Rejected }), runColor(i), true); err != nil {
				return nil, err
			}
		}
	}
	return render(14*vg.Centimeter, [][]*plot.Plot{{p}})
}

func latencyChart(runs []Report) (*bytes.Buffer, error) {
	p := newPlot("End-to-end latency of the sagas completed in each second", "seconds")
	for i, r := range runs {
		for _, q := range []struct {
			name   string
			at     func(Latencies) time.Duration
			dashed bool
		}{{"p50", func(l Latencies) time.Duration { return l.P50 }, false}, {"p99", func(l Latencies) time.Duration { return l.P99 }, true}} {
			y := func(pt Point) (float64, bool) { return q.at(pt.EndToEnd).Seconds(), pt.Completed > 0 }
			if err := line(p, r.Name+" "+q.name, r.Series, y, runColor(i), q.dashed); err != nil {
				return nil, err
			}
		}
	}
	return render(14*vg.Centimeter, [][]*plot.Plot{{p}})
}

// comparisonChart puts the runs side by side: one small bar chart per
// figure, one bar per run.
func comparisonChart(runs []Report) (*bytes.Buffer, error) {
	figures := []struct {
		title string
		v     func(Report) float64
	}{
		{"completed/s", func(r Report) float64 { return r.PerSecond }},
		{"e2e p50 (s)", func(r Report) float64 { return r.EndToEnd.P50.Seconds() }},
		{"e2e p99 (s)", func(r Report) float64 { return r.EndToEnd.P99.Seconds() }},
		{"CPU ms per saga", func(r Report) float64 { return r.CPUSecondsPerSaga * 1000 }},
		{"transitions per saga", func(r Report) float64 { return r.TransitionsPerSaga }},
	}
	row := make([]*plot.Plot, 0, len(figures))
	for _, f := range figures {
		p := plot.New()
		p.Title.Text = f.title
		p.Y.Min = 0
		names := make([]string, len(runs))
		for i, r := range runs {
			names[i] = runLetter(i)
			b, err := plotter.NewBarChart(plotter.Values{f.v(r)}, vg.Points(18))
			if err != nil {
				return nil, err
			}
			b.Color, b.LineStyle.Width = runColor(i), 0
			b.XMin = float64(i)
			p.Add(b)
		}
		p.NominalX(names...)
		row = append(row, p)
	}
	return render(7*vg.Centimeter, [][]*plot.Plot{row})
}

// runLetter labels run i in the comparison (the table names it).
func runLetter(i int) string { return string(rune('A' + i)) }

// render draws plots in a grid (rows of equal length) as SVG, 24cm wide
// and height per row.
func render(height vg.Length, plots [][]*plot.Plot) (*bytes.Buffer, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(24*vg.Centimeter, height*vg.Length(len(plots))), vgsvg.EmbedFonts(false))
	tiles := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: 4 * vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align(plots, tiles, draw.New(c))
	for i := range plots {
		for j, p := range plots[i] {
			p.Draw(canvases[i][j])
		}
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return &buf, nil
}
