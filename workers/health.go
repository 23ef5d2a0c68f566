package workers

import (
	"context"
	"fmt"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/client"
)

// Identity is this process's worker identity, as Temporal lists it among a
// task queue's pollers: "<pid>@<host>@ordersaga". Workers started with it
// (worker.Options.Identity) can be checked by PollersRunning.
func Identity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%d@%s@ordersaga", os.Getpid(), host)
}

// pollerFresh is how recently Temporal must have seen a poller: an idle
// long poll is renewed about every minute.
const pollerFresh = 2 * time.Minute

// PollersRunning returns a readiness check of the workers of services
// started with identity: Temporal answers, and has seen a poller of that
// identity on each service's task queue (workflow tasks for the
// orchestrator, activity tasks for the others) within the last two
// minutes. Its error names the first queue without one.
func PollersRunning(c client.Client, identity string, services []Service) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for _, s := range services {
			typ := enumspb.TASK_QUEUE_TYPE_ACTIVITY
			if isOrchestrator(s) {
				typ = enumspb.TASK_QUEUE_TYPE_WORKFLOW
			}
			resp, err := c.DescribeTaskQueue(ctx, s.TaskQueue, typ)
			if err != nil {
				return fmt.Errorf("describe task queue %s: %w", s.TaskQueue, err)
			}
			if !polling(resp.GetPollers(), identity, time.Now()) {
				return fmt.Errorf("no poller of %s on task queue %s (%s) in the last %s", identity, s.TaskQueue, typ, pollerFresh)
			}
		}
		return nil
	}
}

func polling(pollers []*taskqueuepb.PollerInfo, identity string, now time.Time) bool {
	for _, p := range pollers {
		if p.GetIdentity() == identity && now.Sub(p.GetLastAccessTime().AsTime()) < pollerFresh {
			return true
		}
	}
	return false
}
