// Package events defines the domain events the services publish: CloudEvents
// 1.0 in structured JSON mode, one type per state change.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event types. The routing key on the ordersaga.events exchange is the type.
const (
	OrderCreated       = "order.created"
	OrderConfirmed     = "order.confirmed"
	OrderCancelled     = "order.cancelled"
	InventoryReserved  = "inventory.reserved"
	InventoryReleased  = "inventory.released"
	InventoryCommitted = "inventory.committed"
	// InventoryRestocked: a SKU's available units or price were set. It is
	// about a SKU, not an order: its subject is the SKU and it has no
	// workflowid.
	InventoryRestocked = "inventory.restocked"
	PaymentCharged     = "payment.charged"
	PaymentRefunded    = "payment.refunded"
	PaymentDeclined    = "payment.declined"
	// PaymentAuthorized, PaymentCaptured, PaymentVoided: authorize before
	// approval, capture after (docs/payments.md). A refunded capture is
	// PaymentRefunded.
	PaymentAuthorized = "payment.authorized"
	PaymentCaptured   = "payment.captured"
	PaymentVoided     = "payment.voided"
	// CompensationResolved: an operator resolved a stuck compensation by
	// hand (emitted by the order service, which keeps the order's audit).
	CompensationResolved = "saga.compensation_resolved"
)

// Sources: the service that emitted the event.
const (
	SourceOrder     = "/ordersaga/order"
	SourceInventory = "/ordersaga/inventory"
	SourcePayment   = "/ordersaga/payment"
)

// ContentType is the media type of a structured-mode CloudEvent.
const ContentType = "application/cloudevents+json"

// Event is a CloudEvent 1.0. Subject is the order (or, for
// inventory.restocked, the SKU) the event is about. WorkflowID is the
// "workflowid" extension: the saga the event belongs to (also sent as the
// AMQP correlation id); empty for an event about no saga.
// TraceParent and TraceState are the distributed-tracing extension: the W3C
// trace context of the operation that wrote the event (see trace.go).
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	WorkflowID      string          `json:"workflowid,omitempty"`
	TraceParent     string          `json:"traceparent,omitempty"`
	TraceState      string          `json:"tracestate,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// New returns the event of type typ about orderID, emitted by source for the
// saga step keyed stepKey ("<workflow id>/<step>"). Its ID derives from the
// step key and the type, so every retry of the step yields the same ID.
func New(source, typ, stepKey, workflowID, orderID string, at time.Time, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: encode data: %w", typ, err)
	}
	return Event{
		SpecVersion: "1.0", ID: stepKey + "#" + typ, Source: source, Type: typ, Subject: orderID,
		Time: at.UTC(), DataContentType: "application/json", WorkflowID: workflowID, Data: raw,
	}, nil
}

// Decode parses and validates a structured-mode CloudEvent.
func Decode(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	return e, e.Validate()
}

// Validate checks the attributes CloudEvents 1.0 requires and those ordersaga
// relies on.
func (e Event) Validate() error {
	var errs []error
	if e.SpecVersion != "1.0" {
		errs = append(errs, fmt.Errorf("specversion %q, want 1.0", e.SpecVersion))
	}
	for name, v := range map[string]string{"id": e.ID, "source": e.Source, "type": e.Type, "subject": e.Subject} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if e.Time.IsZero() {
		errs = append(errs, errors.New("time is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid event: %w", err)
	}
	return nil
}
