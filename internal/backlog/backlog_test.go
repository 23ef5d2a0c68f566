package backlog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fakeQueues answers DescribeTaskQueue with the stats of each queue, or
// fails for those in failing.
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
	return &workflowservice.DescribeTaskQueueResponse{Stats: f.stats[in.GetTaskQueue().GetName()]}, nil
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
