// Package backlog samples how far behind the sagas are: the backlog of
// their Temporal task queues — how many tasks wait for a worker and how old
// the oldest is — as the server's task queue stats report it
// (DescribeTaskQueue with ReportStats), in the background on a timer, so
// that reading it costs nothing.
package backlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
)

// Describer is the part of Temporal's WorkflowService a Sampler calls.
type Describer interface {
	DescribeTaskQueue(ctx context.Context, in *workflowservice.DescribeTaskQueueRequest, opts ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error)
}

var _ Describer = workflowservice.WorkflowServiceClient(nil)

// Queue is one task queue to sample: its name and the type of its tasks.
type Queue struct {
	Name string
	Type enumspb.TaskQueueType
}

// Config configures a Sampler.
type Config struct {
	// Namespace of the queues.
	Namespace string
	// Queues to sample; at least one.
	Queues []Queue
	// Interval between samples (default 100ms). The server caches a task
	// queue's stats for matching.TaskQueueInfoByBuildIdTTL (5s by default;
	// the embedded server's is 50ms): a sample is at most that old.
	Interval time.Duration
	// Timeout bounds one sample (default 2s). A loaded server answers
	// slowly; the last sample stands meanwhile.
	Timeout time.Duration
	// Stale is the age past which the last sample no longer counts (default
	// 5s): Last reports none.
	Stale time.Duration
}

func (c *Config) setDefaults() error {
	if c.Interval <= 0 {
		c.Interval = 100 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Stale <= 0 {
		c.Stale = 5 * time.Second
	}
	if len(c.Queues) == 0 {
		return errors.New("backlog: no queues to sample")
	}
	return nil
}

// Sample is the backlog of the queues at one time.
type Sample struct {
	At time.Time
	// Age is the age of the oldest task waiting for a worker, over every
	// queue; Queue names its queue ("" when none waits).
	Age   time.Duration
	Queue string
	// Count is the number of tasks waiting, over every queue.
	Count int64
}

// Sampler samples the backlog of some task queues. Last is safe for
// concurrent use.
type Sampler struct {
	svc  Describer
	cfg  Config
	log  *slog.Logger
	last atomic.Pointer[Sample]
}

// New returns a Sampler of cfg.Queues through svc; Run starts it.
func New(svc Describer, cfg Config, log *slog.Logger) (*Sampler, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Sampler{svc: svc, cfg: cfg, log: log}, nil
}

// Run samples every Interval until ctx is done; it returns nil then. A
// failed sample is logged (once until samples succeed again) and leaves the
// last one to go stale.
func (s *Sampler) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	failing := false
	for {
		sctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		sample, err := s.sample(sctx)
		cancel()
		switch {
		case err == nil:
			s.last.Store(&sample)
			failing = false
		case ctx.Err() == nil && !failing:
			s.log.Warn("task queue backlog not sampled; admission control admits every order until it is", "error", err)
			failing = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Last returns the last sample, and false when there is none younger than
// Stale.
func (s *Sampler) Last() (Sample, bool) {
	p := s.last.Load()
	if p == nil || time.Since(p.At) > s.cfg.Stale {
		return Sample{}, false
	}
	return *p, true
}

// BacklogAge returns the age of the oldest task waiting in the queues, and
// false when it is not known (no fresh sample).
func (s *Sampler) BacklogAge() (time.Duration, bool) {
	last, ok := s.Last()
	return last.Age, ok
}

// sample describes the queues concurrently; the sample is as of its
// start.
func (s *Sampler) sample(ctx context.Context) (Sample, error) {
	out := Sample{At: time.Now()}
	stats := make([]*taskqueuepb.TaskQueueStats, len(s.cfg.Queues))
	errs := make([]error, len(s.cfg.Queues))
	var wg sync.WaitGroup
	for i, q := range s.cfg.Queues {
		wg.Go(func() {
			resp, err := s.svc.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
				Namespace:     s.cfg.Namespace,
				TaskQueue:     &taskqueuepb.TaskQueue{Name: q.Name, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
				TaskQueueType: q.Type,
				ReportStats:   true,
			})
			if err != nil {
				errs[i] = fmt.Errorf("describe task queue %s: %w", q.Name, err)
			}
			stats[i] = resp.GetStats()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Sample{}, err
	}
	for i, st := range stats {
		out.Count += st.GetApproximateBacklogCount()
		if age := st.GetApproximateBacklogAge().AsDuration(); age > out.Age {
			out.Age, out.Queue = age, s.cfg.Queues[i].Name
		}
	}
	return out, nil
}
