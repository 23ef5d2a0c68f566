// Package backlog samples how far behind the sagas are: the backlog of
// their Temporal task queues — how many tasks wait for a worker and how old
// the oldest is — as the server's task queue stats report it
// (DescribeTaskQueue with ReportStats), in the background on a timer, so
// that reading it costs nothing.
//
// It also tells overload from a missing service. A queue whose tasks wait
// while its workers poll it (a poll came after its oldest task) is behind:
// workers are there and busy. A queue whose tasks wait while no worker has
// polled it since the oldest came, for MissingAfter, has no workers: the
// service is missing (stopped, crashed, between deploys), and its tasks
// will wait for it to come back rather than for capacity.
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

// Queue is one task queue to sample: its name, the type of its tasks, and
// the service whose workers poll it.
type Queue struct {
	Name    string
	Type    enumspb.TaskQueueType
	Service string
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
	// MissingAfter is how long tasks must wait on a queue that no worker
	// polls before its service counts as missing (default 5s).
	MissingAfter time.Duration
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
	if c.MissingAfter <= 0 {
		c.MissingAfter = 5 * time.Second
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
	// queue whose workers are there (QueueStat.Attended); Queue names its
	// queue ("" when none waits).
	Age   time.Duration
	Queue string
	// Count is the number of tasks waiting, over every queue.
	Count int64
	// Queues are each queue's stats, in the order of Config.Queues.
	Queues []QueueStat
}

// QueueStat is one queue's backlog and pollers at one time.
type QueueStat struct {
	Queue, Service string
	// Count tasks wait; the oldest has waited Age.
	Count int64
	Age   time.Duration
	// Polled is whether Temporal has seen a poller of the queue in its
	// poller history (the last 5 minutes by default); SincePoll is how long
	// ago the last poll began.
	Polled    bool
	SincePoll time.Duration
	// Missing is whether the queue's service has no workers: tasks wait,
	// and no worker has polled since the oldest came, nor for MissingAfter.
	Missing bool
}

// Attended reports whether no task waits, or a worker polled the queue
// while its oldest task waited: its workers are there (if behind).
func (q QueueStat) Attended() bool {
	return q.Count == 0 || (q.Polled && q.SincePoll < q.Age)
}

// ServiceState is what admission control needs of a service: how many of
// its tasks wait, and whether it has no workers.
type ServiceState struct {
	Service string
	Waiting int64
	Missing bool
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

// BacklogAge returns the age of the oldest task waiting in the queues whose
// workers are there, and false when it is not known (no fresh sample).
func (s *Sampler) BacklogAge() (time.Duration, bool) {
	last, ok := s.Last()
	return last.Age, ok
}

// Services returns each service's waiting tasks and whether it is missing
// (any of its queues is), in the order of Config.Queues; false when not
// known (no fresh sample).
func (s *Sampler) Services() ([]ServiceState, bool) {
	last, ok := s.Last()
	if !ok {
		return nil, false
	}
	var out []ServiceState
	at := map[string]int{}
	for _, q := range last.Queues {
		i, seen := at[q.Service]
		if !seen {
			i = len(out)
			at[q.Service] = i
			out = append(out, ServiceState{Service: q.Service})
		}
		out[i].Waiting += q.Count
		out[i].Missing = out[i].Missing || q.Missing
	}
	return out, true
}

// sample describes the queues concurrently; the sample is as of its
// start.
func (s *Sampler) sample(ctx context.Context) (Sample, error) {
	out := Sample{At: time.Now()}
	resps := make([]*workflowservice.DescribeTaskQueueResponse, len(s.cfg.Queues))
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
			resps[i] = resp
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Sample{}, err
	}
	for i, resp := range resps {
		q := s.queueStat(s.cfg.Queues[i], resp, out.At)
		out.Queues = append(out.Queues, q)
		out.Count += q.Count
		if q.Attended() && q.Age > out.Age {
			out.Age, out.Queue = q.Age, q.Queue
		}
	}
	return out, nil
}

// queueStat reads one queue's stats and pollers as of now.
func (s *Sampler) queueStat(q Queue, resp *workflowservice.DescribeTaskQueueResponse, now time.Time) QueueStat {
	st := QueueStat{Queue: q.Name, Service: q.Service, Count: resp.GetStats().GetApproximateBacklogCount(),
		Age: resp.GetStats().GetApproximateBacklogAge().AsDuration()}
	for _, p := range resp.GetPollers() {
		since := max(0, now.Sub(p.GetLastAccessTime().AsTime()))
		if !st.Polled || since < st.SincePoll {
			st.Polled, st.SincePoll = true, since
		}
	}
	// Unattended, a poll (if any) began before the oldest task came: no
	// worker has polled for at least Age either.
	st.Missing = !st.Attended() && st.Age >= s.cfg.MissingAfter
	return st
}
