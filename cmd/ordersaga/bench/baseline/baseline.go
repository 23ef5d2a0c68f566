// Package baseline is the order saga written the way Temporal's samples write
// a saga: one plain activity per step on one task queue, compensations
// deferred on the workflow's own context, default worker options. `ordersaga
// bench --baseline` runs it against the same services as OrderFulfillment to
// compare the two in one run; `bench --compare` also runs it with each
// activity on its service's task queue (SplitWorkflowName). It is not used
// in production.
package baseline

import (
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

// TaskQueue is the single queue the baseline's workflow and activities share.
const TaskQueue = "ordersaga.baseline"

// WorkflowName is the baseline's workflow type.
const WorkflowName = "BaselineOrderSaga"

// SplitTaskQueue is the queue of the split baseline's workflow; its
// activities run on their services' queues (workflows.TaskQueueOrder, ...),
// served by the same workers as ours.
const SplitTaskQueue = "ordersaga.baseline-split"

// SplitWorkflowName is the workflow type of the baseline with each activity
// on its service's task queue.
const SplitWorkflowName = "BaselineSplitOrderSaga"

// SplitWorkflowID returns the split baseline's workflow ID for orderID.
func SplitWorkflowID(orderID string) string { return "baseline-split-" + orderID }

// WorkflowID returns the baseline saga's workflow ID for orderID.
func WorkflowID(orderID string) string { return "baseline-" + orderID }

// OrderSaga creates the order, reserves stock, authorizes and captures the
// payment and confirms, undoing
// the completed steps (deferred) when a later one fails.
func OrderSaga(ctx workflow.Context, in workflows.Input) error {
	return orderSaga(ctx, in, "", "", "")
}

// SplitOrderSaga is OrderSaga with each activity on its service's task
// queue.
func SplitOrderSaga(ctx workflow.Context, in workflows.Input) error {
	return orderSaga(ctx, in, workflows.TaskQueueOrder, workflows.TaskQueueInventory, workflows.TaskQueuePayment)
}

// orderSaga is the saga with the activities of order, inventory and payment
// on those queues ("": the workflow's own).
func orderSaga(ctx workflow.Context, in workflows.Input, order, inventory, payment string) (err error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{NonRetryableErrorTypes: []string{
			activities.ErrOutOfStock, activities.ErrUnknownSKU, activities.ErrPaymentDeclined,
			activities.ErrAlreadyCompensated, activities.ErrInvalidInput}},
	})
	wf := workflow.GetInfo(ctx).WorkflowExecution.ID
	key := func(step string) string { return wf + "/" + step }
	on := func(queue string) workflow.Context {
		opts := workflow.GetActivityOptions(ctx)
		opts.TaskQueue = queue
		return workflow.WithActivityOptions(ctx, opts)
	}
	orderCtx, inventoryCtx, paymentCtx := on(order), on(inventory), on(payment)

	if err = workflow.ExecuteActivity(orderCtx, activities.CreateOrderName, activities.CreateOrderInput{
		Key: key("create_order"), OrderID: in.OrderID, CustomerID: in.CustomerID, Items: in.Items}).Get(ctx, nil); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = workflow.ExecuteActivity(orderCtx, activities.RejectOrderName, activities.RejectOrderInput{
				Key: key("create_order"), OrderID: in.OrderID, Reason: err.Error()}).Get(ctx, nil)
		}
	}()

	var res activities.Reservation
	if err = workflow.ExecuteActivity(inventoryCtx, activities.ReserveInventoryName, activities.ReserveInput{
		Key: key("reserve_inventory"), OrderID: in.OrderID, Items: in.Items}).Get(ctx, &res); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = workflow.ExecuteActivity(inventoryCtx, activities.ReleaseInventoryName, activities.ReservationRef{
				Key: key("reserve_inventory"), OrderID: in.OrderID}).Get(ctx, nil)
		}
	}()

	// As ours from revision 2: the card authorized (voided on a later
	// failure), then captured.
	authKey := key(workflows.StepAuthorizePayment)
	if err = workflow.ExecuteActivity(paymentCtx, activities.AuthorizePaymentName, activities.AuthorizeInput{
		Key: authKey, OrderID: in.OrderID, Token: in.PaymentToken, AmountCents: res.TotalCents}).Get(ctx, nil); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = workflow.ExecuteActivity(paymentCtx, activities.VoidPaymentName, activities.VoidInput{
				Key: authKey, OrderID: in.OrderID}).Get(ctx, nil)
		}
	}()
	var charge activities.Capture
	if err = workflow.ExecuteActivity(paymentCtx, activities.CapturePaymentName, activities.CaptureInput{
		Key: key(workflows.StepCapturePayment), AuthorizationKey: authKey, OrderID: in.OrderID, AmountCents: res.TotalCents}).Get(ctx, &charge); err != nil {
		return err
	}
	if err = workflow.ExecuteActivity(orderCtx, activities.ConfirmOrderName, activities.ConfirmOrderInput{
		Key: key("confirm_order"), OrderID: in.OrderID, TotalCents: res.TotalCents, ChargeID: charge.ChargeID}).Get(ctx, nil); err != nil {
		return err
	}
	return workflow.ExecuteActivity(inventoryCtx, activities.CommitInventoryName, activities.ReservationRef{
		Key: key("reserve_inventory"), OrderID: in.OrderID}).Get(ctx, nil)
}

// NewWorker returns a worker, not yet started, of the baseline's workflow
// and every activity struct in acts on TaskQueue, with default options.
func NewWorker(c client.Client, acts ...any) worker.Worker {
	w := worker.New(c, TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(OrderSaga, workflow.RegisterOptions{Name: WorkflowName})
	for _, a := range acts {
		w.RegisterActivity(a)
	}
	return w
}

// NewSplitWorker returns a worker, not yet started, of the split baseline's
// workflow on SplitTaskQueue, with default options; the services' workers
// run its activities.
func NewSplitWorker(c client.Client) worker.Worker {
	w := worker.New(c, SplitTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(SplitOrderSaga, workflow.RegisterOptions{Name: SplitWorkflowName})
	return w
}
