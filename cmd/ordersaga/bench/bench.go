// Package bench drives sagas at a fixed arrival rate or a fixed concurrency
// and measures them: completions per second, start and end-to-end latency
// percentiles, orders shed by admission control, errors by kind, the
// process's CPU time per saga, throughput and latency over time, and
// Temporal state transitions per saga.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"
)

// Driver starts sagas.
type Driver interface {
	// Name labels the driver's report.
	Name() string
	// Start starts saga number n and returns its workflow ID once the start
	// is acknowledged. An order the system sheds (HTTP 429) is a *Rejected
	// error: counted apart, never retried.
	Start(ctx context.Context, n int) (workflowID string, err error)
	// Wait blocks until the saga has ended and returns when it ended (zero:
	// when Wait returns), and nil if it completed successfully.
	Wait(ctx context.Context, workflowID string) (ended time.Time, err error)
}

// Config says how much load to drive.
type Config struct {
	// Orders to start; with Duration set, whichever comes first (0: no
	// count limit).
	Orders int
	// Duration of the run (0: until Orders are started).
	Duration time.Duration
	// Rate is the arrival rate in sagas per second (open loop). Zero runs a
	// closed loop of Concurrency sagas.
	Rate float64
	// Concurrency bounds the sagas in flight (default 50).
	Concurrency int
	// Timeout bounds one saga from start to end (default 2m).
	Timeout time.Duration
	// Progress, if set, receives a progress bar.
	Progress io.Writer
}

func (c *Config) setDefaults() error {
	if c.Concurrency <= 0 {
		c.Concurrency = 50
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.Orders <= 0 && c.Duration <= 0 {
		return errors.New("bench: set Orders or Duration")
	}
	return nil
}

// Latencies are percentiles of a latency distribution.
type Latencies struct {
	P50, P90, P99, Max time.Duration
}

// Report is the outcome of a run. Started = Completed + Failed + Rejected.
type Report struct {
	Name string `json:"name"`
	// Repeat numbers the run among the runs of its name (from 1) when a
	// bench repeats them; 0 otherwise.
	Repeat int `json:"repeat,omitempty"`
	// Started counts the sagas the run tried to start.
	Started   int `json:"started"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// Rejected counts the orders shed by admission control (HTTP 429):
	// neither failed nor retried.
	Rejected  int           `json:"rejected"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"completed_per_second"`
	// Start is the latency of the starts, rejected ones included; EndToEnd
	// that of the completed sagas only.
	Start    Latencies      `json:"start_latency_ns"`
	EndToEnd Latencies      `json:"end_to_end_latency_ns"`
	Errors   map[string]int `json:"errors"`
	// ErrorSamples holds one full message per error kind.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	// TransitionsPerSaga is the mean StateTransitionCount of a sample of
	// completed sagas (0 when not measured).
	TransitionsPerSaga float64 `json:"state_transitions_per_saga"`
	// CPUSeconds is the CPU time (user + system) this process used over
	// the run, from its first start to its last saga's end; with an
	// embedded stack that is the whole product but Redis and RabbitMQ.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUSecondsPerSaga is CPUSeconds per completed saga (0 when none
	// completed).
	CPUSecondsPerSaga float64 `json:"cpu_seconds_per_saga"`
	// Series is the run over time, in buckets of equal width.
	Series []Point `json:"series"`

	// Slowest is the completed saga with the longest end-to-end latency,
	// and where its history spent the most time.
	Slowest *Slowest `json:"slowest,omitempty"`

	ids []string // completed workflow IDs
}

// WorkflowIDs returns the IDs of the run's completed sagas (for a
// ReadDriver, the paths it read).
func (r Report) WorkflowIDs() []string { return slices.Clone(r.ids) }

// Slowest describes the slowest saga of a run.
type Slowest struct {
	WorkflowID string        `json:"workflow_id"`
	EndToEnd   time.Duration `json:"end_to_end_ns"`
	// Gap is the longest time between two consecutive history events, and
	// the events around it.
	Gap       time.Duration `json:"gap_ns"`
	GapAfter  string        `json:"gap_after"`
	GapBefore string        `json:"gap_before"`
}

type sample struct {
	id         string
	start, e2e time.Duration
	// endedAt is when the saga ended (or its start failed or was
	// rejected); end is that from the run's start.
	endedAt    time.Time
	end        time.Duration
	rejected   bool
	retryAfter time.Duration
	err, msg   string
}

// Run drives d with cfg until done, then returns the report.
func Run(ctx context.Context, cfg Config, d Driver) (Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return Report{}, err
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	bar := newBar(cfg, d.Name())
	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
	)
	slots := make(chan struct{}, cfg.Concurrency)
	begin := time.Now()
	cpuBefore, cpuErr := cpuTime()
	one := func(n int, scheduled time.Time) {
		defer wg.Done()
		defer func() { <-slots }()
		s := runOne(context.WithoutCancel(ctx), cfg.Timeout, d, n, scheduled)
		s.end = s.endedAt.Sub(begin)
		if s.rejected && cfg.Rate <= 0 {
			// Closed loop: the slot honours Retry-After before the next
			// order, rather than spin on refusals.
			sleepUntil(ctx, time.Now().Add(min(s.retryAfter, 5*time.Second)))
		}
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	for n := 0; cfg.Orders == 0 || n < cfg.Orders; n++ {
		scheduled := time.Now()
		if cfg.Rate > 0 {
			// Open loop: arrivals on schedule; latency counts from the
			// scheduled time, so a stalled system cannot hide its queue.
			scheduled = begin.Add(time.Duration(float64(n) / cfg.Rate * float64(time.Second)))
			if !sleepUntil(ctx, scheduled) {
				break
			}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if cfg.Rate <= 0 {
			scheduled = time.Now() // closed loop: a saga starts when a slot frees
		}
		wg.Add(1)
		go one(n, scheduled)
	}
	wg.Wait()
	elapsed := time.Since(begin)
	cpuAfter, cpuErr2 := cpuTime()
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(cfg.Progress)
	}
	r := summarize(d.Name(), samples, elapsed)
	if cpuErr == nil && cpuErr2 == nil {
		r.CPUSeconds = (cpuAfter - cpuBefore).Seconds()
		if r.Completed > 0 {
			r.CPUSecondsPerSaga = r.CPUSeconds / float64(r.Completed)
		}
	}
	return r, nil
}

func runOne(ctx context.Context, timeout time.Duration, d Driver, n int, scheduled time.Time) sample {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id, err := d.Start(ctx, n)
	s := sample{id: id, start: time.Since(scheduled), endedAt: time.Now()}
	var rejected *Rejected
	if errors.As(err, &rejected) {
		s.rejected, s.retryAfter = true, rejected.RetryAfter
		return s
	}
	if err != nil {
		s.err, s.msg = "start: "+kind(err), err.Error()
		return s
	}
	ended, err := d.Wait(ctx, id)
	if err != nil {
		s.err, s.msg = kind(err), err.Error()
	}
	if ended.IsZero() {
		ended = time.Now()
	}
	s.endedAt, s.e2e = ended, ended.Sub(scheduled)
	return s
}

func kind(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var k interface{ Kind() string }
	if errors.As(err, &k) {
		return k.Kind()
	}
	// The innermost message, without Temporal's wrapping (IDs and all).
	for next := errors.Unwrap(err); next != nil; next = errors.Unwrap(err) {
		err = next
	}
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}

func summarize(name string, samples []sample, elapsed time.Duration) Report {
	r := Report{Name: name, Started: len(samples), Elapsed: elapsed, Errors: map[string]int{}, ErrorSamples: map[string]string{}}
	var starts, e2es []time.Duration
	for _, s := range samples {
		starts = append(starts, s.start)
		if s.rejected {
			r.Rejected++
			continue
		}
		if s.err != "" {
			r.Failed++
			r.Errors[s.err]++
			r.ErrorSamples[s.err] = s.msg
			continue
		}
		r.Completed++
		e2es = append(e2es, s.e2e)
		r.ids = append(r.ids, s.id)
		if r.Slowest == nil || s.e2e > r.Slowest.EndToEnd {
			r.Slowest = &Slowest{WorkflowID: s.id, EndToEnd: s.e2e}
		}
	}
	r.Start = percentiles(starts)
	r.EndToEnd = percentiles(e2es)
	r.Series = series(samples, elapsed)
	if elapsed > 0 {
		r.PerSecond = float64(r.Completed) / elapsed.Seconds()
	}
	return r
}

func percentiles(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Latencies{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ds[len(ds)-1]}
}

// MeasureTransitions sets r.TransitionsPerSaga to the mean state transition
// count of up to n of the run's completed sagas.
func MeasureTransitions(ctx context.Context, c client.Client, r *Report, n int) error {
	ids := r.ids
	if len(ids) > n {
		ids = ids[len(ids)-n:]
	}
	if len(ids) == 0 {
		return nil
	}
	var total int64
	for _, id := range ids {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return fmt.Errorf("describe %s: %w", id, err)
		}
		total += desc.GetWorkflowExecutionInfo().GetStateTransitionCount()
	}
	r.TransitionsPerSaga = float64(total) / float64(len(ids))
	return nil
}

// DiagnoseSlowest finds where the slowest saga's history spent its time.
func DiagnoseSlowest(ctx context.Context, c client.Client, r *Report) error {
	if r.Slowest == nil {
		return nil
	}
	it := c.GetWorkflowHistory(ctx, r.Slowest.WorkflowID, "", false, 0)
	var prev time.Time
	var prevType string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return err
		}
		t := e.GetEventTime().AsTime()
		if !prev.IsZero() && t.Sub(prev) > r.Slowest.Gap {
			r.Slowest.Gap, r.Slowest.GapAfter, r.Slowest.GapBefore = t.Sub(prev), prevType, e.GetEventType().String()
		}
		prev, prevType = t, e.GetEventType().String()
	}
	return nil
}

func newBar(cfg Config, name string) *progressbar.ProgressBar {
	if cfg.Progress == nil {
		return nil
	}
	total := int64(cfg.Orders)
	if total == 0 {
		total = -1 // unknown: a spinner with a count
		if cfg.Rate > 0 {
			total = int64(cfg.Rate * cfg.Duration.Seconds())
		}
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(cfg.Progress),
		progressbar.OptionSetDescription(name),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("sagas"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
