//go:build !slim

package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/replay"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// activityQueues returns the task queue of each activity the saga of
// orderID scheduled, by activity type.
func activityQueues(t *testing.T, c client.Client, orderID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	it := c.GetWorkflowHistory(context.Background(), workflows.WorkflowID(orderID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			out[a.GetActivityType().GetName()] = a.GetTaskQueue().GetName()
		}
	}
	require.NotEmpty(t, out, "no activity scheduled")
	return out
}

// TestDevTopologies runs a saga to completion on `dev` in either topology:
// single (the default) schedules every step on the orchestrator's task
// queue, split on each service's.
func TestDevTopologies(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want map[string]string // activity type -> queue; nil: the orchestrator's for all
	}{
		{args: nil},
		{args: []string{"--topology", "split"}, want: map[string]string{
			"CreateOrder": workflows.TaskQueueOrder, "ReserveInventory": workflows.TaskQueueInventory,
			"AuthorizePayment": workflows.TaskQueuePayment, "CapturePayment": workflows.TaskQueuePayment,
			"CommitInventory": workflows.TaskQueueInventory,
			"ConfirmOrder":    workflows.TaskQueueOrder}},
	} {
		t.Run(fmtArgs(tc.args), func(t *testing.T) {
			s := startStack(t, tc.args...)
			id := s.order("widget", 1, "tok_ok")
			s.await(id, "COMPLETED")
			c, err := client.Dial(client.Options{HostPort: s.temporal})
			require.NoError(t, err)
			defer c.Close()
			queues := activityQueues(t, c, id)
			for typ, queue := range queues {
				want := workflows.TaskQueueOrchestrator
				if tc.want != nil {
					want = tc.want[typ]
				}
				require.Equal(t, want, queue, typ)
			}
			if tc.want != nil {
				require.Len(t, queues, len(tc.want), "the steps of the current revision: %v", queues)
			}
		})
	}
}

func fmtArgs(args []string) string {
	if len(args) == 0 {
		return "default"
	}
	return args[len(args)-1]
}

// TestWorkerWithEveryServiceRunsStepsOnTheOrchestratorsQueue starts the
// workers of every service in one process (worker --services
// orchestrator,order,inventory,payment): a saga completes, a declined one
// compensates, each with every step on the orchestrator's queue; their
// histories replay on an orchestrator of the split topology.
func TestWorkerWithEveryServiceRunsStepsOnTheOrchestratorsQueue(t *testing.T) {
	ctx := context.Background()
	rig := startSagaRig(t, workflows.Options{}, nil)
	sagas := sagaclient.New(rig.client)
	for id, token := range map[string]string{"single-ok": "tok_ok", "single-declined": "tok_declined"} {
		require.NoError(t, sagas.Start(ctx, workflows.Input{OrderID: id, ClientID: "shop", CustomerID: "cust-1",
			Items: []ordersaga.Item{{SKU: "widget", Quantity: 1}}, PaymentToken: token}))
	}
	for id, want := range map[string]workflows.Status{"single-ok": workflows.StatusCompleted, "single-declined": workflows.StatusCompensated} {
		var st workflows.State
		require.NoError(t, rig.client.GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, &st))
		require.Equal(t, want, st.Status, id)
		for typ, queue := range activityQueues(t, rig.client, id) {
			require.Equal(t, workflows.TaskQueueOrchestrator, queue, "%s: %s", id, typ)
		}
		h, err := replay.Fetch(ctx, rig.client, workflows.WorkflowID(id), "")
		require.NoError(t, err)
		split, err := replay.New(workflows.Workflow(workflows.Config{}), workflows.WorkflowName, converter.GetDefaultDataConverter(), slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		require.NoError(t, split.History(h), id)
	}
}
