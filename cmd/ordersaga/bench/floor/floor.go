// Package floor is the engine's floor for the order saga's shape: a no-op
// saga that schedules the same activities as OrderFulfillment (revision
// workflows.Revision), on task queues laid out as ours' topology lays out
// its queues, with the same concurrency (create and reserve together, then
// the charge, then confirm and commit together) and the same activity
// options — but with empty activity bodies, no search attributes, no
// summaries or details, no metrics, no interceptors and no query or update
// handlers. What it costs on a stack is what Temporal itself costs for
// that shape there; `ordersaga bench --compare` sets ours against it. It is
// not used in production.
package floor

import (
	"context"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

// WorkflowName is the floor's workflow type.
const WorkflowName = "FloorOrderSaga"

// WorkflowID returns the floor saga's workflow ID for orderID.
func WorkflowID(orderID string) string { return "floor-" + orderID }

// Queues are the floor's task queues: the workflow's, and each service's
// activities'. They are the floor's own, so that its empty activities never
// meet the services' workers.
type Queues struct {
	Workflow, Order, Inventory, Payment string
}

// SplitQueues mirrors the split topology: one queue per service.
var SplitQueues = Queues{Workflow: "ordersaga.floor.orchestrator", Order: "ordersaga.floor.order",
	Inventory: "ordersaga.floor.inventory", Payment: "ordersaga.floor.payment"}

// SingleQueues mirrors the single topology: every activity on the
// workflow's queue, dispatched eagerly to the worker that schedules it.
var SingleQueues = Queues{Workflow: SplitQueues.Workflow, Order: SplitQueues.Workflow,
	Inventory: SplitQueues.Workflow, Payment: SplitQueues.Workflow}

// Distinct lists q's distinct queues, the workflow's first: NewWorkers
// returns a worker for each, in this order.
func (q Queues) Distinct() []string {
	var out []string
	for _, queue := range []string{q.Workflow, q.Order, q.Inventory, q.Payment} {
		if !slices.Contains(out, queue) {
			out = append(out, queue)
		}
	}
	return out
}

// Input starts a floor saga: the order, as ours gets it, and where to run.
type Input struct {
	Order  workflows.Input `json:"order"`
	Queues Queues          `json:"queues"`
}

// OrderSaga runs the five actions of an order that completes, with ours'
// concurrency and activity options, and returns nothing.
func OrderSaga(ctx workflow.Context, in Input) error {
	retry := &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 10 * time.Second,
		BackoffCoefficient: 2, MaximumAttempts: 10}
	on := func(queue string, startToClose time.Duration) workflow.Context {
		return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: queue,
			StartToCloseTimeout: startToClose, RetryPolicy: retry})
	}
	o, q := in.Order, in.Queues
	wf := workflow.GetInfo(ctx).WorkflowExecution.ID
	create := workflow.ExecuteActivity(on(q.Order, 10*time.Second), activities.CreateOrderName,
		activities.CreateOrderInput{Key: wf + "/create_order", OrderID: o.OrderID, CustomerID: o.CustomerID, Items: o.Items})
	reserve := workflow.ExecuteActivity(on(q.Inventory, 10*time.Second), activities.ReserveInventoryName,
		activities.ReserveInput{Key: wf + "/reserve_inventory", OrderID: o.OrderID, Items: o.Items})
	if err := all(ctx, create, reserve); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(on(q.Payment, 30*time.Second), activities.ChargePaymentName,
		activities.ChargeInput{Key: wf + "/charge_payment", OrderID: o.OrderID, Token: o.PaymentToken}).Get(ctx, nil); err != nil {
		return err
	}
	confirm := workflow.ExecuteActivity(on(q.Order, 10*time.Second), activities.ConfirmOrderName,
		activities.ConfirmOrderInput{Key: wf + "/confirm_order", OrderID: o.OrderID})
	commit := workflow.ExecuteActivity(on(q.Inventory, 10*time.Second), activities.CommitInventoryName,
		activities.ReservationRef{Key: wf + "/reserve_inventory", OrderID: o.OrderID})
	return all(ctx, confirm, commit)
}

// all waits for every future and returns the first error, in order.
func all(ctx workflow.Context, fs ...workflow.Future) error {
	var first error
	for _, f := range fs {
		if err := f.Get(ctx, nil); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Empty activity bodies, taking ours' inputs.
func createOrder(context.Context, activities.CreateOrderInput) error { return nil }
func reserve(context.Context, activities.ReserveInput) error         { return nil }
func charge(context.Context, activities.ChargeInput) error           { return nil }
func confirm(context.Context, activities.ConfirmOrderInput) error    { return nil }
func commit(context.Context, activities.ReservationRef) error        { return nil }

// NewWorkers returns the floor's workers, not yet started: one per queue of
// q.Distinct(), in that order, with opts (give them ours' pollers and
// concurrency). The workflow's worker also runs the activities scheduled on
// its queue.
func NewWorkers(c client.Client, q Queues, opts worker.Options) []worker.Worker {
	byQueue := map[string]worker.Worker{}
	var out []worker.Worker
	for _, queue := range q.Distinct() {
		byQueue[queue] = worker.New(c, queue, opts)
		out = append(out, byQueue[queue])
	}
	get := func(queue string) worker.Worker { return byQueue[queue] }
	get(q.Workflow).RegisterWorkflowWithOptions(OrderSaga, workflow.RegisterOptions{Name: WorkflowName})
	reg := func(queue string, fn any, name string) {
		get(queue).RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	reg(q.Order, createOrder, activities.CreateOrderName)
	reg(q.Order, confirm, activities.ConfirmOrderName)
	reg(q.Inventory, reserve, activities.ReserveInventoryName)
	reg(q.Inventory, commit, activities.CommitInventoryName)
	reg(q.Payment, charge, activities.ChargePaymentName)
	return out
}
