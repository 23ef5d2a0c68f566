// Package placement is the monolith's event entry point: it consumes
// order.placement_requested CloudEvents from RabbitMQ and starts a saga for
// each, as POST /v1/orders does over HTTP (docs/events.md). The saga's own
// events then tell the monolith the outcome.
//
// It is idempotent by the event's ID: the order ID is the event's
// data.order_id, else derived from its source and ID, so a redelivered or
// republished event finds its saga started and is acknowledged as a
// duplicate. An event that can never start a saga (not a CloudEvent, another
// type, invalid data) is dead-lettered at once with its reason; one that
// fails for a transient reason (Temporal unreachable) is retried, then handed
// back, and dead-lettered by the queue after its delivery limit.
package placement

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/workflows"
)

// EventType is the command event the monolith publishes, with the events
// exchange's routing key of the same name.
const EventType = "order.placement_requested"

// ReasonHeader is the header of a dead-lettered event that says why.
const ReasonHeader = "x-ordersaga-dead-letter-reason"

// Starter starts sagas (the gateway's api.Sagas does).
type Starter interface {
	// Start starts in's saga; ECONFLICT if its order ID has one already,
	// EINVALID for a refused input, any other error is transient.
	Start(ctx context.Context, in workflows.Input) error
}

// Config configures a Consumer.
type Config struct {
	// URL of RabbitMQ (required).
	URL string
	// Queue is the consumer's durable quorum queue, bound to EventType
	// (default "ordersaga.placement").
	Queue string
	// Topology is where the events are published (default: the broker's).
	Topology broker.Topology
	// ClientID is the client the orders are recorded as placed by (default
	// "monolith"): it owns them, as an API key's client owns its orders.
	ClientID string
	// Prefetch bounds unacknowledged deliveries (default 16).
	Prefetch int
	// Attempts is how many times a transient failure is retried in
	// process before the delivery is handed back (default 3).
	Attempts int
	// DeliveryLimit is how many deliveries the queue makes before it
	// dead-letters a message (default 5).
	DeliveryLimit int
	// MaxBackoff caps the waits between attempts and reconnections
	// (default 5s).
	MaxBackoff time.Duration
}

func (c *Config) setDefaults() {
	c.Queue = or(c.Queue, "ordersaga.placement")
	c.ClientID = or(c.ClientID, "monolith")
	if c.Prefetch <= 0 {
		c.Prefetch = 16
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.DeliveryLimit <= 0 {
		c.DeliveryLimit = 5
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("placement: URL is required")
	}
	return ordersaga.CheckID("placement client", c.ClientID)
}

// Consumer turns placement events into saga starts.
type Consumer struct {
	cfg       Config
	sagas     Starter
	log       *slog.Logger
	consuming atomic.Bool

	started, duplicates, deadLettered atomic.Int64
}

// Stats are a consumer's counters.
type Stats struct {
	Started, Duplicates, DeadLettered int64
}

// New returns a consumer starting sagas with sagas.
func New(cfg Config, sagas Starter, log *slog.Logger) (*Consumer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Consumer{cfg: cfg, sagas: sagas, log: log.With("consumer", cfg.Queue)}, nil
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() Stats {
	return Stats{Started: c.started.Load(), Duplicates: c.duplicates.Load(), DeadLettered: c.deadLettered.Load()}
}

// Consuming is the consumer's readiness: nil while it holds a consumer on
// its queue.
func (c *Consumer) Consuming(context.Context) error {
	if c.consuming.Load() {
		return nil
	}
	return errors.New("not consuming: the placement consumer is connecting")
}

// Declare declares the topology and the consumer's queue, so events
// published from now on reach it. Run declares them too.
func (c *Consumer) Declare(ctx context.Context) error {
	conn, ch, err := broker.Open(ctx, c.cfg.URL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	return c.cfg.Topology.DeclareConsumerQueue(ch, c.cfg.Queue, c.cfg.DeliveryLimit, EventType)
}

// Run consumes until ctx is cancelled, reconnecting with backoff; it
// returns nil then.
func (c *Consumer) Run(ctx context.Context) error {
	backoff := broker.Backoff{Max: c.cfg.MaxBackoff}
	for ctx.Err() == nil {
		err := c.session(ctx)
		if ctx.Err() != nil {
			break
		}
		wait := backoff.Next()
		c.log.Warn("placement consumer interrupted; reconnecting", "error", err, "backoff", wait)
		broker.Sleep(ctx, wait)
	}
	return nil
}

func (c *Consumer) session(ctx context.Context) error {
	conn, ch, err := broker.Open(ctx, c.cfg.URL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := c.cfg.Topology.DeclareConsumerQueue(ch, c.cfg.Queue, c.cfg.DeliveryLimit, EventType); err != nil {
		return err
	}
	if err := ch.Qos(c.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	// Dead letters are published on a channel of their own, with confirms:
	// the event is acknowledged only once its dead letter is safe.
	dl, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open dead-letter channel: %w", err)
	}
	if err := dl.Confirm(false); err != nil {
		return fmt.Errorf("dead-letter confirms: %w", err)
	}
	deliveries, err := ch.ConsumeWithContext(ctx, c.cfg.Queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.cfg.Queue, err)
	}
	c.consuming.Store(true)
	defer c.consuming.Store(false)
	c.log.Info("placement consumer connected", "broker", broker.Redacted(c.cfg.URL))
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("delivery channel closed")
			}
			if err := c.handle(ctx, dl, d); err != nil {
				return err
			}
		}
	}
}

// handle starts d's saga and settles d; an error means a channel is
// unusable.
func (c *Consumer) handle(ctx context.Context, dl *amqp.Channel, d amqp.Delivery) error {
	in, eventID, err := c.input(d.Body)
	if err != nil {
		return c.deadLetter(ctx, dl, d, eventID, err.Error())
	}
	log := c.log.With("event", eventID, "order_id", in.OrderID)
	backoff := broker.Backoff{Min: 100 * time.Millisecond, Max: c.cfg.MaxBackoff}
	for attempt := 1; ; attempt++ {
		err := c.sagas.Start(ctx, in)
		switch ordersaga.ErrorCode(err) {
		case "":
			c.started.Add(1)
			log.Info("saga started from a placement event")
			return d.Ack(false)
		case ordersaga.ECONFLICT:
			c.duplicates.Add(1)
			log.Info("placement event already applied: its saga exists")
			return d.Ack(false)
		case ordersaga.EINVALID:
			return c.deadLetter(ctx, dl, d, eventID, "refused: "+err.Error())
		}
		if attempt >= c.cfg.Attempts || ctx.Err() != nil {
			log.Warn("handing a placement event back to the broker", "attempts", attempt, "error", err)
			return d.Nack(false, true)
		}
		broker.Sleep(ctx, backoff.Next())
	}
}

// data is an order.placement_requested event's data: POST /v1/orders's
// body, and the order ID the monolith may choose.
type data struct {
	OrderID string `json:"order_id,omitempty"`
	api.CreateOrderRequest
}

// input returns the saga input of a placement event, and its ID (as far as
// it could be read); the error says why the event can never start one.
func (c *Consumer) input(body []byte) (workflows.Input, string, error) {
	ev, err := events.Decode(body)
	if err != nil {
		return workflows.Input{}, ev.ID, err
	}
	if ev.Type != EventType {
		return workflows.Input{}, ev.ID, fmt.Errorf("type %q: this queue takes %s", ev.Type, EventType)
	}
	var d data
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return workflows.Input{}, ev.ID, fmt.Errorf("data: %w", err)
	}
	if err := d.Validate(); err != nil {
		return workflows.Input{}, ev.ID, fmt.Errorf("data: %s", describe(err))
	}
	if d.OrderID == "" {
		d.OrderID = OrderID(ev.Source, ev.ID)
	} else if err := ordersaga.CheckID("order_id", d.OrderID); err != nil {
		return workflows.Input{}, ev.ID, fmt.Errorf("data: %w", err)
	}
	return workflows.Input{OrderID: d.OrderID, ClientID: c.cfg.ClientID, CustomerID: d.CustomerID, Items: d.Items,
		PaymentToken: d.PaymentToken}, ev.ID, nil
}

// orderNamespace derives an order ID from an event's source and ID.
var orderNamespace = uuid.MustParse("5b8f0c1e-6a1d-4f0e-9d53-2f8e4c7a9b10")

// OrderID is the order ID of a placement event from source with ID id and
// no data.order_id: what the monolith finds as the subject of the saga's
// events.
func OrderID(source, id string) string {
	return uuid.NewSHA1(orderNamespace, []byte(source+"\x00"+id)).String()
}

// describe lists a validation problem's fields.
func describe(err error) string {
	var p *api.Problem
	if !errors.As(err, &p) {
		return err.Error()
	}
	if len(p.Errors) == 0 {
		return p.Detail
	}
	var parts []string
	for _, e := range p.Errors {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, "; ")
}

// deadLetter publishes d to the dead-letter exchange with its reason, then
// acknowledges it; if the dead letter is not confirmed, d is handed back.
func (c *Consumer) deadLetter(ctx context.Context, dl *amqp.Channel, d amqp.Delivery, eventID, reason string) error {
	c.log.Error("dead-lettering a placement event", "event", eventID, "message_id", d.MessageId, "reason", reason)
	headers := amqp.Table{ReasonHeader: reason, "x-ordersaga-consumer": c.cfg.Queue}
	for k, v := range d.Headers {
		if _, ok := headers[k]; !ok {
			headers[k] = v
		}
	}
	conf, err := dl.PublishWithDeferredConfirmWithContext(ctx, c.cfg.Topology.DeadLetterExchange(), d.RoutingKey, false, false, amqp.Publishing{
		Headers: headers, ContentType: d.ContentType, MessageId: d.MessageId, Type: d.Type, CorrelationId: d.CorrelationId,
		DeliveryMode: amqp.Persistent, Timestamp: d.Timestamp, Body: d.Body,
	})
	if err != nil {
		return errors.Join(fmt.Errorf("publish dead letter: %w", err), d.Nack(false, true))
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ok, err := conf.WaitContext(cctx); err != nil || !ok {
		return d.Nack(false, true)
	}
	c.deadLettered.Add(1)
	return d.Ack(false)
}
