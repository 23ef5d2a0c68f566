package bench

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga"
	apiclient "github.com/ordersaga/ordersaga/api/client"
	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench/baseline"
	"github.com/ordersaga/ordersaga/cmd/ordersaga/bench/floor"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// Order is what every benchmarked saga orders.
type Order struct {
	CustomerID string
	Items      []ordersaga.Item
	Token      string
}

// errKind is an error that names its kind for the report.
type errKind struct{ kind, msg string }

func (e errKind) Error() string { return e.msg }
func (e errKind) Kind() string  { return e.kind }

// waitSaga waits for an OrderFulfillment run through w and fails unless
// it COMPLETED; it returns when the run closed.
func waitSaga(ctx context.Context, w *Watcher, c client.Client, id string) (time.Time, error) {
	closed, err := w.Wait(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	if closed.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && closed.SagaStatus == string(workflows.StatusCompleted) {
		return closed.At, nil
	}
	// Not a success, or a saga without SagaStatus: its result says.
	var st workflows.State
	if err := waitResult(ctx, c, id, &st); err != nil {
		return closed.At, err
	}
	if st.Status != workflows.StatusCompleted {
		return closed.At, errKind{"saga " + string(st.Status), st.FailureReason}
	}
	return closed.At, nil
}

// APIDriver starts sagas through the HTTP API and waits for them through
// Temporal.
type APIDriver struct {
	BaseURL string
	HTTP    *http.Client
	Client  client.Client
	Watch   *Watcher
	Order   Order
	// PreferWait, if set, places each order with Prefer: wait (whole
	// seconds): the API answers once the order's stock is reserved (201),
	// so the start latency is the checkout's answer.
	PreferWait time.Duration
}

// Name implements Driver.
func (d *APIDriver) Name() string {
	if d.PreferWait > 0 {
		return "ordersaga (HTTP API, " + d.prefer() + ")"
	}
	return "ordersaga (HTTP API)"
}

func (d *APIDriver) prefer() string { return fmt.Sprintf("wait=%d", int(d.PreferWait.Seconds())) }

// Start implements Driver: POST /v1/orders, through the API's generated
// client. A 429 is a *Rejected with the response's Retry-After (seconds; 1s
// when absent).
func (d *APIDriver) Start(ctx context.Context, _ int) (string, error) {
	api, err := apiclient.NewClientWithResponses(d.BaseURL, apiclient.WithHTTPClient(d.HTTP))
	if err != nil {
		return "", err
	}
	items := make([]apiclient.Item, len(d.Order.Items))
	for i, it := range d.Order.Items {
		items[i] = apiclient.Item{SKU: it.SKU, Quantity: it.Quantity}
	}
	params := &apiclient.CreateOrderParams{}
	if d.PreferWait > 0 {
		prefer := d.prefer()
		params.Prefer = &prefer
	}
	resp, err := api.CreateOrderWithResponse(ctx, params, apiclient.CreateOrderRequest{CustomerID: d.Order.CustomerID, Items: items,
		PaymentToken: d.Order.Token})
	if err != nil {
		return "", errKind{"http: " + classify(err), err.Error()}
	}
	if resp.StatusCode() == http.StatusTooManyRequests {
		after, err := strconv.Atoi(resp.HTTPResponse.Header.Get("Retry-After"))
		if err != nil || after < 1 {
			after = 1
		}
		return "", &Rejected{RetryAfter: time.Duration(after) * time.Second, Detail: string(resp.Body)}
	}
	switch {
	case resp.JSON201 != nil:
		return resp.JSON201.WorkflowID, nil
	case resp.JSON202 != nil:
		return resp.JSON202.WorkflowID, nil
	}
	return "", errKind{fmt.Sprintf("http %d", resp.StatusCode()), string(resp.Body)}
}

// Wait implements Driver.
func (d *APIDriver) Wait(ctx context.Context, id string) (time.Time, error) {
	return waitSaga(ctx, d.Watch, d.Client, id)
}

// TemporalDriver starts OrderFulfillment directly with the Temporal client.
// It starts them exactly as the API does (sagaclient), and waits through
// Client.
type TemporalDriver struct {
	Sagas  *sagaclient.Client
	Client client.Client
	Watch  *Watcher
	Order  Order
	// Prefix makes order IDs unique per run.
	Prefix string
}

// Name implements Driver.
func (d *TemporalDriver) Name() string { return "ordersaga" }

// Start implements Driver.
func (d *TemporalDriver) Start(ctx context.Context, n int) (string, error) {
	orderID := fmt.Sprintf("%s-%d", d.Prefix, n)
	in := workflows.Input{OrderID: orderID, CustomerID: d.Order.CustomerID, Items: d.Order.Items, PaymentToken: d.Order.Token}
	if err := d.Sagas.Start(ctx, in); err != nil {
		return "", errKind{"temporal: " + classify(err), err.Error()}
	}
	return workflows.WorkflowID(orderID), nil
}

// Wait implements Driver.
func (d *TemporalDriver) Wait(ctx context.Context, id string) (time.Time, error) {
	return waitSaga(ctx, d.Watch, d.Client, id)
}

// BaselineDriver starts the samples-style saga (cmd/ordersaga/bench/baseline).
type BaselineDriver struct {
	Client client.Client
	Watch  *Watcher
	Order  Order
	Prefix string
	// Label, if set, names the driver's report.
	Label string
}

// Name implements Driver.
func (d *BaselineDriver) Name() string { return cmp.Or(d.Label, "baseline (samples-style saga)") }

// Start implements Driver.
func (d *BaselineDriver) Start(ctx context.Context, n int) (string, error) {
	in := d.input(n)
	return d.start(ctx, baseline.WorkflowID(in.OrderID), baseline.TaskQueue, baseline.WorkflowName, in)
}

func (d *BaselineDriver) input(n int) workflows.Input {
	orderID := fmt.Sprintf("%s-%d", d.Prefix, n)
	return workflows.Input{OrderID: orderID, CustomerID: d.Order.CustomerID, Items: d.Order.Items, PaymentToken: d.Order.Token}
}

// start starts workflow type name with arg as id on queue, with default
// options.
func (d *BaselineDriver) start(ctx context.Context, id, queue, name string, arg any) (string, error) {
	run, err := d.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, name, arg)
	if err != nil {
		return "", errKind{"temporal: " + classify(err), err.Error()}
	}
	return run.GetID(), nil
}

// Wait implements Driver.
func (d *BaselineDriver) Wait(ctx context.Context, id string) (time.Time, error) {
	closed, err := d.Watch.Wait(ctx, id)
	if err != nil || closed.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return closed.At, err
	}
	return closed.At, waitResult(ctx, d.Client, id, nil) // the failure
}

// SplitBaselineDriver starts the samples-style saga with each activity on
// its service's task queue (baseline.SplitOrderSaga).
type SplitBaselineDriver struct{ BaselineDriver }

// Name implements Driver.
func (d *SplitBaselineDriver) Name() string { return cmp.Or(d.Label, "baseline-split") }

// Start implements Driver.
func (d *SplitBaselineDriver) Start(ctx context.Context, n int) (string, error) {
	in := d.input(n)
	return d.start(ctx, baseline.SplitWorkflowID(in.OrderID), baseline.SplitTaskQueue, baseline.SplitWorkflowName, in)
}

// FloorDriver starts the no-op saga of ours' shape (floor.OrderSaga) on
// Queues, with Features of ours added.
type FloorDriver struct {
	BaselineDriver
	Queues   floor.Queues
	Features floor.Features
}

// Name implements Driver.
func (d *FloorDriver) Name() string { return cmp.Or(d.Label, "floor") }

// Start implements Driver.
func (d *FloorDriver) Start(ctx context.Context, n int) (string, error) {
	in := floor.Input{Order: d.input(n), Queues: d.Queues, Features: d.Features}
	run, err := d.Client.ExecuteWorkflow(ctx, floor.StartOptions(floor.WorkflowID(in.Order.OrderID), in), floor.WorkflowName, in)
	if err != nil {
		return "", errKind{"temporal: " + classify(err), err.Error()}
	}
	return run.GetID(), nil
}

// waitResult waits for a workflow's result (after a Watcher saw it close,
// to read why it failed). Each wait is a long poll of at most a second,
// polled again until ctx ends: on the embedded server a long poll
// sometimes misses the close of a workflow that ends as it subscribes, and
// only returns when it expires (20s).
func waitResult(ctx context.Context, c client.Client, id string, result any) error {
	run := c.GetWorkflow(ctx, id, "")
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := run.Get(pctx, result)
		cancel()
		if err == nil || ctx.Err() != nil || pctx.Err() == nil {
			return err
		}
	}
}

func classify(err error) string {
	if err == context.DeadlineExceeded || strings.Contains(err.Error(), "deadline exceeded") {
		return "timeout"
	}
	return "error"
}
