// Package workflows holds the order fulfillment saga: its step table and
// bindings (steps.go, bindings.go), run on the saga engine (package saga),
// and the names other processes use to talk to it. Its code is
// deterministic: nothing in this package does I/O.
package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/saga"
)

// Task queues: one per service, so each service's workers deploy and scale
// alone.
const (
	TaskQueueOrchestrator = "ordersaga.orchestrator"
	TaskQueueOrder        = "ordersaga.order"
	TaskQueueInventory    = "ordersaga.inventory"
	TaskQueuePayment      = "ordersaga.payment"
)

// Names of the saga's query, updates and signals.
const (
	// QueryState returns the saga's live State.
	QueryState = saga.QueryState
	// UpdateApprove approves an order awaiting approval. Optional argument:
	// ApproveRequest. Rejected (validator error) unless the saga is
	// AWAITING_APPROVAL.
	UpdateApprove = "approve"
	// UpdateCancel cancels the saga and compensates it. Rejected once the
	// pivot (payment) has started or the saga has ended.
	UpdateCancel = saga.UpdateCancel
	// UpdateRetryCompensation retries a compensation in progress at once,
	// skipping the wait before its next attempt. Argument:
	// CompensationRequest. Rejected unless the step is being compensated.
	UpdateRetryCompensation = saga.UpdateRetryCompensation
	// UpdateResolveCompensation records that an operator fixed a
	// compensation's effect by hand: the saga stops retrying it, records
	// the Resolution, emits saga.compensation_resolved and goes on to its
	// end state. Argument: CompensationRequest with By and Reason. Rejected
	// unless the step is being compensated.
	UpdateResolveCompensation = saga.UpdateResolveCompensation
	// SignalApprove is the fire-and-forget twin of UpdateApprove, for
	// operators using the Web UI or `temporal workflow signal`.
	SignalApprove = "approve"
)

// WorkflowName is the registered workflow type name.
const WorkflowName = "OrderFulfillment"

// WorkflowID returns the workflow ID of the saga for orderID.
func WorkflowID(orderID string) string { return "order-" + orderID }

// Search attributes the saga sets, so the Web UI finds a saga by business key
// (e.g. `OrderId = "..."` or `SagaStatus = "FAILED"`).
var (
	OrderIDKey    = temporal.NewSearchAttributeKeyKeyword("OrderId")
	CustomerIDKey = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	SagaStatusKey = temporal.NewSearchAttributeKeyKeyword("SagaStatus")
	// ClientIDKey names the API client that placed the order (set by the
	// starter), so a client's orders can be listed.
	ClientIDKey = temporal.NewSearchAttributeKeyKeyword("ClientId")
)

// SearchAttributeKeys lists the custom search attributes that must be
// registered in the namespace before sagas start.
func SearchAttributeKeys() []temporal.SearchAttributeKeyKeyword {
	return []temporal.SearchAttributeKeyKeyword{OrderIDKey, CustomerIDKey, SagaStatusKey, ClientIDKey}
}

// SearchAttributes are the saga's custom search attributes with their
// types, as `ordersaga setup` registers them.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	m := map[string]enumspb.IndexedValueType{}
	for _, k := range SearchAttributeKeys() {
		m[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return m
}
