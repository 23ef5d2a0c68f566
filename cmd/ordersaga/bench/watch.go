package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/workflows"
)

// Closed is how a workflow ended, as visibility records it.
type Closed struct {
	At     time.Time
	Status enumspb.WorkflowExecutionStatus
	// SagaStatus is the SagaStatus search attribute at the close ("" for a
	// workflow without it).
	SagaStatus string
}

// Watcher learns when workflows close, for every workflow waited on at
// once: one visibility listing of the recently closed workflows every
// Interval, instead of a long poll per workflow. Those long polls, hundreds
// in flight under an open loop past capacity, each retried at once when
// the frontend's namespace rate limit refuses it, drained the frontend's
// host-wide rate limiter until it refused the workers' own polls (measured:
// ~2,000 PollWorkflowExecutionHistory/s): the bench collapsed the system it
// measured. A workflow not seen within Fallback is described directly.
type Watcher struct {
	C client.Client
	// Interval between listings (default 100ms).
	Interval time.Duration
	// Fallback is how long a workflow may go unseen before it is described
	// (default 30s), and then again every Fallback: a close that visibility
	// recorded after the listing's look-back. Its close time is right
	// whenever it is found; a Describe per waiting saga every few seconds
	// would itself load a system past capacity.
	Fallback time.Duration

	mu      sync.Mutex
	waiting map[string]chan Closed
	since   time.Time
}

// lookback is how far before its previous listing a listing starts.
const lookback = 2 * time.Second

// Run lists closed workflows until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		n, since := len(w.waiting), w.since
		w.mu.Unlock()
		if n == 0 {
			continue
		}
		listed := time.Now()
		if err := w.list(ctx, since); err == nil {
			w.mu.Lock()
			// Visibility records a close a little after it: look back 2s.
			// A close recorded later is found by Wait's fallback; its
			// CloseTime is right either way.
			w.since = listed.Add(-lookback)
			w.mu.Unlock()
		}
	}
}

func (w *Watcher) list(ctx context.Context, since time.Time) error {
	query := fmt.Sprintf(`ExecutionStatus != "Running" AND CloseTime >= %q`, since.UTC().Format(time.RFC3339Nano))
	var token []byte
	for {
		resp, err := w.C.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return err
		}
		for _, e := range resp.GetExecutions() {
			w.deliver(e.GetExecution().GetWorkflowId(), closed(e))
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

func (w *Watcher) deliver(id string, c Closed) {
	w.mu.Lock()
	ch, ok := w.waiting[id]
	delete(w.waiting, id)
	w.mu.Unlock()
	if ok {
		ch <- c
	}
}

// Wait blocks until workflow id has closed (or ctx is done) and returns how.
func (w *Watcher) Wait(ctx context.Context, id string) (Closed, error) {
	ch := make(chan Closed, 1)
	w.mu.Lock()
	if w.waiting == nil {
		w.waiting = map[string]chan Closed{}
	}
	if len(w.waiting) == 0 || w.since.IsZero() {
		w.since = time.Now().Add(-lookback)
	}
	w.waiting[id] = ch
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.waiting, id)
		w.mu.Unlock()
	}()
	fallback := w.Fallback
	if fallback <= 0 {
		fallback = 30 * time.Second
	}
	t := time.NewTicker(fallback)
	defer t.Stop()
	for {
		select {
		case c := <-ch:
			return c, nil
		case <-ctx.Done():
			return Closed{}, ctx.Err()
		case <-t.C:
			if c, ok := w.describe(ctx, id); ok {
				return c, nil
			}
		}
	}
}

func (w *Watcher) describe(ctx context.Context, id string) (Closed, bool) {
	resp, err := w.C.DescribeWorkflowExecution(ctx, id, "")
	info := resp.GetWorkflowExecutionInfo()
	if err != nil || info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return Closed{}, false
	}
	return closed(info), true
}

// closed reads how a workflow ended from its visibility record.
func closed(info *workflowpb.WorkflowExecutionInfo) Closed {
	c := Closed{At: info.GetCloseTime().AsTime(), Status: info.GetStatus()}
	if p := info.GetSearchAttributes().GetIndexedFields()[workflows.SagaStatusKey.GetName()]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &c.SagaStatus)
	}
	return c
}
