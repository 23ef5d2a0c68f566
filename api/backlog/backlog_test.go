package backlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeQueues answers DescribeTaskQueue with the stats of each queue, and a
// poller polling it, or fails for those in failing.
type fakeQueues struct {
	stats   map[string]*taskqueuepb.TaskQueueStats
	failing map[string]bool
}

func (f fakeQueues) DescribeTaskQueue(_ context.Context, in *workflowservice.DescribeTaskQueueRequest, _ ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error) {
	if !in.GetReportStats() || in.GetNamespace() != "ns" {
		return nil, errors.New("want stats of namespace ns")
	}
	if f.failing[in.GetTaskQueue().GetName()] {
		return nil, errors.New("unavailable")
	}
	// A worker polls every queue just now: its backlog is overload.
	return &workflowservice.DescribeTaskQueueResponse{Stats: f.stats[in.GetTaskQueue().GetName()],
		Pollers: []*taskqueuepb.PollerInfo{{Identity: "w", LastAccessTime: timestamppb.Now()}}}, nil
}

func stats(count int64, age time.Duration) *taskqueuepb.TaskQueueStats {
	return &taskqueuepb.TaskQueueStats{ApproximateBacklogCount: count, ApproximateBacklogAge: durationpb.New(age)}
}

var queues = []Queue{{Name: "wf", Type: enumspb.TASK_QUEUE_TYPE_WORKFLOW}, {Name: "act", Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY}}

// TestSampleIsTheOldestTaskOverTheQueues ensures a sample's age is the
// oldest waiting task of any queue, named, and its count the sum.
func TestSampleIsTheOldestTaskOverTheQueues(t *testing.T) {
	s, err := New(fakeQueues{stats: map[string]*taskqueuepb.TaskQueueStats{
		"wf": stats(3, 40*time.Millisecond), "act": stats(2, 900*time.Millisecond)}}, Config{Namespace: "ns", Queues: queues}, nil)
	require.NoError(t, err)
	got, err := s.sample(context.Background())
	require.NoError(t, err)
	require.Equal(t, 900*time.Millisecond, got.Age)
	require.Equal(t, "act", got.Queue)
	require.EqualValues(t, 5, got.Count)
}

// TestUnknownUntilSampledAndWhenStale ensures the backlog is unknown before
// the first sample, when a queue cannot be described, and once the last
// sample is older than Stale.
func TestUnknownUntilSampledAndWhenStale(t *testing.T) {
	s, err := New(fakeQueues{failing: map[string]bool{"act": true}}, Config{Namespace: "ns", Queues: queues, Stale: time.Minute},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	_, ok := s.BacklogAge()
	require.False(t, ok, "no sample yet")
	_, err = s.sample(context.Background())
	require.ErrorContains(t, err, "describe task queue act")

	s.last.Store(&Sample{At: time.Now(), Age: time.Second})
	age, ok := s.BacklogAge()
	require.True(t, ok)
	require.Equal(t, time.Second, age)
	s.last.Store(&Sample{At: time.Now().Add(-2 * time.Minute), Age: time.Second})
	_, ok = s.BacklogAge()
	require.False(t, ok, "a stale sample does not count")
}

func TestNeedsQueues(t *testing.T) {
	_, err := New(fakeQueues{}, Config{Namespace: "ns"}, nil)
	require.Error(t, err)
}

// pollerQueues answers DescribeTaskQueue with each queue's stats and the
// last access times of its pollers.
type pollerQueues struct {
	stats   map[string]*taskqueuepb.TaskQueueStats
	pollers map[string][]time.Time
}

func (f pollerQueues) DescribeTaskQueue(_ context.Context, in *workflowservice.DescribeTaskQueueRequest, _ ...grpc.CallOption) (*workflowservice.DescribeTaskQueueResponse, error) {
	resp := &workflowservice.DescribeTaskQueueResponse{Stats: f.stats[in.GetTaskQueue().GetName()]}
	for _, at := range f.pollers[in.GetTaskQueue().GetName()] {
		resp.Pollers = append(resp.Pollers, &taskqueuepb.PollerInfo{Identity: "w", LastAccessTime: timestamppb.New(at)})
	}
	return resp, nil
}

// TestOverloadIsToldFromAMissingService ensures a queue whose tasks wait
// while its workers poll counts towards the backlog age (overload), while
// a queue no worker has polled since its oldest task came does not, and is
// reported missing once that task has waited MissingAfter; the metric says
// which service.
func TestOverloadIsToldFromAMissingService(t *testing.T) {
	now := time.Now()
	qs := []Queue{{Name: "wf", Type: enumspb.TASK_QUEUE_TYPE_WORKFLOW, Service: "orchestrator"},
		{Name: "inv", Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY, Service: "inventory"},
		{Name: "pay", Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY, Service: "payment"},
		{Name: "ord", Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY, Service: "order"}}
	svc := pollerQueues{
		stats: map[string]*taskqueuepb.TaskQueueStats{
			"wf":  stats(40, 800*time.Millisecond), // behind, workers polling
			"inv": stats(7, 30*time.Second),        // stopped 50s ago
			"pay": stats(2, 2*time.Second),         // stopped just now: not yet missing
			"ord": stats(0, 0),                     // idle: its long poll began long ago
		},
		pollers: map[string][]time.Time{
			"wf":  {now.Add(-time.Minute), now.Add(-20 * time.Millisecond)},
			"inv": {now.Add(-50 * time.Second)},
			"pay": {now.Add(-3 * time.Second)},
			"ord": {now.Add(-55 * time.Second)},
		},
	}
	s, err := New(svc, Config{Namespace: "ns", Queues: qs}, nil)
	require.NoError(t, err)
	got, err := s.sample(context.Background())
	require.NoError(t, err)
	s.last.Store(&got)
	age, ok := s.BacklogAge()
	require.True(t, ok)
	require.Equal(t, 800*time.Millisecond, age, "only the attended queues' backlog is overload")
	require.Equal(t, "wf", got.Queue)
	services, ok := s.Services()
	require.True(t, ok)
	require.Equal(t, []ServiceState{{"orchestrator", 40, false}, {"inventory", 7, true}, {"payment", 2, false}, {"order", 0, false}}, services)

	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collector())
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP ordersaga_service_workers_missing 1 while a service has no workers: its tasks wait and no worker has polled its task queue since the oldest came (for at least the sampler's MissingAfter); 0 otherwise. Absent while the backlog is unknown.
# TYPE ordersaga_service_workers_missing gauge
ordersaga_service_workers_missing{service="inventory"} 1
ordersaga_service_workers_missing{service="order"} 0
ordersaga_service_workers_missing{service="orchestrator"} 0
ordersaga_service_workers_missing{service="payment"} 0
`), "ordersaga_service_workers_missing"))

	// No poller in the server's history at all (never started, or gone
	// for minutes) is missing too.
	svc.pollers["inv"] = nil
	got, err = s.sample(context.Background())
	require.NoError(t, err)
	require.True(t, got.Queues[1].Missing)
}
