package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/internal/replay"
	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/workflows"
)

// HistoryCmd groups the history commands.
type HistoryCmd struct {
	Export HistoryExportCmd `cmd:"" help:"Write a workflow's history as JSON, the format of 'temporal workflow show --output json'."`
}

// HistoryExportCmd exports one history.
type HistoryExportCmd struct {
	WorkflowID    string `required:"" help:"Workflow ID, e.g. order-<order id>."`
	RunID         string `help:"Run ID (default: the latest run)."`
	Out           string `short:"o" default:"-" help:"File to write; - writes to stdout."`
	TemporalFlags `embed:""`
}

// Run exports the history.
func (h *HistoryExportCmd) Run(ctx context.Context, log *slog.Logger, stdout io.Writer) error {
	c, err := dialTemporalOnly(ctx, h.connection(), h.CodecFlags, nil, log)
	if err != nil {
		return err
	}
	defer c.Close()
	hist, err := replay.Fetch(ctx, c.Client, h.WorkflowID, h.RunID)
	if err != nil {
		return err
	}
	if h.Out == "-" {
		return replay.WriteJSON(stdout, hist)
	}
	f, err := os.Create(h.Out)
	if err != nil {
		return err
	}
	if err := replay.WriteJSON(f, hist); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReplayCmd replays histories from files or from Temporal.
type ReplayCmd struct {
	Files         []string `arg:"" optional:"" help:"History JSON files (from 'ordersaga history export' or 'temporal workflow show --output json')."`
	Query         string   `help:"Visibility query selecting the workflows to fetch from Temporal and replay, e.g. 'ExecutionStatus = \"Running\"'. The saga's workflow type is always added."`
	TemporalFlags `embed:""`
}

// Run replays every history, printing one line each, and fails naming those
// that do not replay.
func (r *ReplayCmd) Run(ctx context.Context, log *slog.Logger, stdout io.Writer) error {
	if len(r.Files) == 0 && r.Query == "" {
		return fmt.Errorf("replay: give history files or --query")
	}
	keys, err := r.keyring()
	if err != nil {
		return err
	}
	rep, err := replay.New(workflows.OrderFulfillment, workflows.WorkflowName, temporalclient.DataConverter(keys), log)
	if err != nil {
		return err
	}
	var failed []string
	total := 0
	check := func(name string, h *historypb.History, err error) {
		total++
		if err == nil {
			err = rep.History(h)
		}
		if err != nil {
			failed = append(failed, name)
			fmt.Fprintf(stdout, "FAIL  %s: %s\n", name, oneLine(err.Error()))
			return
		}
		fmt.Fprintf(stdout, "ok    %s (%d events)\n", name, len(h.GetEvents()))
	}
	for _, f := range r.Files {
		h, err := replay.ReadFile(f)
		check(f, h, err)
	}
	if r.Query != "" {
		c, err := dialTemporalOnly(ctx, r.connection(), r.CodecFlags, nil, log)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := eachWorkflow(ctx, c.Client, r.Query, func(workflowID, runID string) {
			h, err := replay.Fetch(ctx, c.Client, workflowID, runID)
			check(workflowID+" ("+runID+")", h, err)
		}); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d histories do not replay: %s", len(failed), total, strings.Join(failed, ", "))
	}
	fmt.Fprintf(stdout, "all %d histories replay\n", total)
	return nil
}

// eachWorkflow calls fn for every saga run matching query.
func eachWorkflow(ctx context.Context, c client.Client, query string, fn func(workflowID, runID string)) error {
	q := fmt.Sprintf("WorkflowType = %q AND (%s)", workflows.WorkflowName, query)
	var token []byte
	for {
		res, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
		if err != nil {
			return fmt.Errorf("list workflows (%s): %w", q, err)
		}
		for _, e := range res.GetExecutions() {
			fn(e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId())
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}
