// Package replay replays recorded workflow histories with the current
// workflow code, to prove before a deploy that a change keeps every
// recorded run replaying.
package replay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Replayer replays histories of the workflow function given to New.
type Replayer struct {
	r   worker.WorkflowReplayer
	log tlog.Logger
}

// New returns a Replayer for wf registered under name (the workflow type
// its histories record), decoding payloads with dc, the data converter the
// workers use. Replaying the order saga is
// New(workflows.OrderFulfillment, workflows.WorkflowName, ...).
func New(wf any, name string, dc converter.DataConverter, log *slog.Logger) (*Replayer, error) {
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc})
	if err != nil {
		return nil, fmt.Errorf("replayer: %w", err)
	}
	r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: name})
	return &Replayer{r: r, log: tlog.NewStructuredLogger(log)}, nil
}

// History replays one history. A non-determinism error is returned as is
// (see IsNonDeterminism).
func (r *Replayer) History(h *historypb.History) error {
	return r.r.ReplayWorkflowHistory(r.log, h)
}

// File replays the JSON history in path (the format of `temporal workflow
// show --output json` and `ordersaga history export`).
func (r *Replayer) File(path string) error {
	h, err := ReadFile(path)
	if err != nil {
		return err
	}
	return r.History(h)
}

// ReadFile reads a JSON history.
func ReadFile(path string) (*historypb.History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return nil, fmt.Errorf("read history %s: %w", path, err)
	}
	if len(h.GetEvents()) == 0 {
		return nil, fmt.Errorf("read history %s: no events", path)
	}
	return h, nil
}

// Fetch reads the whole history of a workflow run from Temporal.
func Fetch(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("fetch history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, e)
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("fetch history of %s: no events", workflowID)
	}
	return h, nil
}

// WriteJSON writes h as indented JSON, the format the temporal CLI prints.
func WriteJSON(w io.Writer, h *historypb.History) error {
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode history: %w", err)
	}
	var buf bytes.Buffer
	buf.Write(b)
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// IsNonDeterminism reports whether err says the workflow code no longer
// matches the history: the SDK marks those errors with the code TMPRL1100.
func IsNonDeterminism(err error) bool {
	return err != nil && strings.Contains(err.Error(), "[TMPRL1100]")
}
