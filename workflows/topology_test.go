package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

// queues records the task queue each activity was scheduled on.
type queues struct {
	mu sync.Mutex
	m  map[string]string
}

func (q *queues) seen(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	info := activity.GetInfo(ctx)
	q.m[info.ActivityType.Name] = info.TaskQueue
}

func runTopology(t *testing.T, cfg workflows.Config, token string) map[string]string {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	q := &queues{m: map[string]string{}}
	env.RegisterWorkflowWithOptions(workflows.Workflow(cfg), workflow.RegisterOptions{Name: workflows.WorkflowName})
	env.RegisterActivityWithOptions(func(ctx context.Context, _ activities.CreateOrderInput) (activities.Outcome, error) {
		q.seen(ctx)
		return activities.Outcome{}, nil
	}, activity.RegisterOptions{Name: activities.CreateOrderName})
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.ReserveInput) (activities.Reservation, error) {
		q.seen(ctx)
		return activities.Reservation{Lines: []ordersaga.Line{{SKU: "a", Quantity: 1, UnitPriceCents: 100}}, TotalCents: 100}, nil
	}, activity.RegisterOptions{Name: activities.ReserveInventoryName})
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.AuthorizeInput) (activities.Authorization, error) {
		q.seen(ctx)
		if token == "tok_declined" {
			return activities.Authorization{}, declined(1)
		}
		return activities.Authorization{AuthorizationID: "au", AmountCents: in.AmountCents}, nil
	}, activity.RegisterOptions{Name: activities.AuthorizePaymentName})
	env.RegisterActivityWithOptions(func(ctx context.Context, in activities.CaptureInput) (activities.Capture, error) {
		q.seen(ctx)
		return activities.Capture{ChargeID: "cp"}, nil
	}, activity.RegisterOptions{Name: activities.CapturePaymentName})
	for _, name := range []string{activities.ConfirmOrderName, activities.CommitInventoryName, activities.ReleaseInventoryName,
		activities.RejectOrderName, activities.VoidPaymentName} {
		env.RegisterActivityWithOptions(func(ctx context.Context, _ map[string]any) (activities.Outcome, error) {
			q.seen(ctx)
			return activities.Outcome{}, nil
		}, activity.RegisterOptions{Name: name})
	}
	env.SetTestTimeout(10 * time.Second)
	env.ExecuteWorkflow(workflows.WorkflowName, workflows.Input{OrderID: "o1", Items: []ordersaga.Item{{SKU: "a", Quantity: 1}},
		PaymentToken: token, Revision: workflows.Revision})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	return q.m
}

// In the split topology each step runs on its service's queue; with the
// services colocated, on the orchestrator's.
func TestTopologyDecidesTheQueues(t *testing.T) {
	split := runTopology(t, workflows.Config{}, "tok_ok")
	require.Equal(t, workflows.TaskQueueOrder, split[activities.CreateOrderName])
	require.Equal(t, workflows.TaskQueueInventory, split[activities.CommitInventoryName])
	require.Equal(t, workflows.TaskQueuePayment, split[activities.CapturePaymentName])

	all := []string{workflows.TaskQueueOrder, workflows.TaskQueueInventory, workflows.TaskQueuePayment}
	for _, token := range []string{"tok_ok", "tok_declined"} {
		single := runTopology(t, workflows.Config{Colocated: all}, token)
		require.NotEmpty(t, single)
		for name, queue := range single {
			require.Equal(t, workflows.TaskQueueOrchestrator, queue, "%s (%s)", name, token)
		}
	}
	partly := runTopology(t, workflows.Config{Colocated: []string{workflows.TaskQueuePayment}}, "tok_ok")
	require.Equal(t, workflows.TaskQueueOrchestrator, partly[activities.CapturePaymentName])
	require.Equal(t, workflows.TaskQueueOrder, partly[activities.CreateOrderName])
}
