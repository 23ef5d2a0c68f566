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

// Input starts a floor saga: the order, as ours gets it, where to run,
// and which of ours' features to add.
type Input struct {
	Order    workflows.Input `json:"order"`
	Queues   Queues          `json:"queues"`
	Features Features        `json:"features"`
}

// Features are features of ours the floor can add one by one, to measure
// each one's cost (bench --features). The zero value is the floor. The
// starter adds those set at the start (StartAttributes, Summaries).
type Features struct {
	// StartAttributes: the starter sets ours' search attributes.
	StartAttributes bool `json:"start_attributes,omitempty"`
	// StatusUpsert: the saga upserts its status attribute as it ends.
	StatusUpsert bool `json:"status_upsert,omitempty"`
	// Summaries: a static summary and details at the start, and a summary
	// on each activity.
	Summaries bool `json:"summaries,omitempty"`
	// Sequential runs the five actions one after another instead of ours'
	// two pairs: what the parallel steps save.
	Sequential bool `json:"sequential,omitempty"`
}

// OrderSaga runs the five actions of an order that completes, with ours'
// concurrency and activity options, and returns nothing.
func OrderSaga(ctx workflow.Context, in Input) error {
	retry := &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumInterval: 10 * time.Second,
		BackoffCoefficient: 2, MaximumAttempts: 10}
	f := in.Features
	exec := func(queue string, startToClose time.Duration, step, name string, arg any) workflow.Future {
		opts := workflow.ActivityOptions{TaskQueue: queue, StartToCloseTimeout: startToClose, RetryPolicy: retry}
		if f.Summaries {
			opts.Summary = "action " + step
		}
		fut := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), name, arg)
		if f.Sequential {
			_ = fut.Get(ctx, nil)
		}
		return fut
	}
	o, q := in.Order, in.Queues
	wf := workflow.GetInfo(ctx).WorkflowExecution.ID
	create := exec(q.Order, 10*time.Second, "create_order", activities.CreateOrderName,
		activities.CreateOrderInput{Key: wf + "/create_order", OrderID: o.OrderID, CustomerID: o.CustomerID, Items: o.Items})
	reserve := exec(q.Inventory, 10*time.Second, "reserve_inventory", activities.ReserveInventoryName,
		activities.ReserveInput{Key: wf + "/reserve_inventory", OrderID: o.OrderID, Items: o.Items})
	if err := all(ctx, create, reserve); err != nil {
		return err
	}
	if err := exec(q.Payment, 30*time.Second, workflows.StepAuthorizePayment, activities.AuthorizePaymentName,
		activities.AuthorizeInput{Key: wf + "/" + workflows.StepAuthorizePayment, OrderID: o.OrderID, Token: o.PaymentToken}).Get(ctx, nil); err != nil {
		return err
	}
	if err := exec(q.Payment, 30*time.Second, workflows.StepCapturePayment, activities.CapturePaymentName,
		activities.CaptureInput{Key: wf + "/" + workflows.StepCapturePayment, AuthorizationKey: wf + "/" + workflows.StepAuthorizePayment, OrderID: o.OrderID}).Get(ctx, nil); err != nil {
		return err
	}
	confirm := exec(q.Order, 10*time.Second, "confirm_order", activities.ConfirmOrderName,
		activities.ConfirmOrderInput{Key: wf + "/confirm_order", OrderID: o.OrderID})
	commit := exec(q.Inventory, 10*time.Second, "commit_inventory", activities.CommitInventoryName,
		activities.ReservationRef{Key: wf + "/reserve_inventory", OrderID: o.OrderID})
	err := all(ctx, confirm, commit)
	if err == nil && f.StatusUpsert {
		err = workflow.UpsertTypedSearchAttributes(ctx, workflows.SagaStatusKey.ValueSet(string(workflows.StatusCompleted)))
	}
	return err
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

// StartOptions returns the start options of in's saga as id on in's
// workflow queue: ours' search attributes and summaries if its features
// say so.
func StartOptions(id string, in Input) client.StartWorkflowOptions {
	opts := client.StartWorkflowOptions{ID: id, TaskQueue: in.Queues.Workflow}
	if in.Features.StartAttributes {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			workflows.OrderIDKey.ValueSet(in.Order.OrderID),
			workflows.CustomerIDKey.ValueSet(in.Order.CustomerID),
			workflows.SagaStatusKey.ValueSet(string(workflows.StatusRunning)),
			workflows.ClientIDKey.ValueSet(in.Order.ClientID),
		)
	}
	if in.Features.Summaries {
		opts.StaticSummary, opts.StaticDetails = workflows.Summary(in.Order), workflows.StaticDetails(in.Order)
	}
	return opts
}

// Empty activity bodies, taking ours' inputs.
func createOrder(context.Context, activities.CreateOrderInput) error { return nil }
func reserve(context.Context, activities.ReserveInput) error         { return nil }
func authorize(context.Context, activities.AuthorizeInput) error     { return nil }
func capture(context.Context, activities.CaptureInput) error         { return nil }
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
	reg(q.Payment, authorize, activities.AuthorizePaymentName)
	reg(q.Payment, capture, activities.CapturePaymentName)
	return out
}
