package timeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/events"
)

// Config configures a Projector.
type Config struct {
	// URL of RabbitMQ.
	URL string
	// Queue is the projector's own durable queue (default "ordersaga.timeline").
	Queue string
	// Topology to consume from (default: broker's default topology).
	Topology broker.Topology
	// Prefetch bounds unacknowledged deliveries in flight (default 64).
	Prefetch int
	// Attempts is how many times one delivery is tried in process, with
	// backoff, before it is handed back to the broker (default 5).
	Attempts int
	// DeliveryLimit is how many times the broker delivers a message before
	// dead-lettering it (default 5).
	DeliveryLimit int
	// MaxBackoff caps waits between attempts and reconnections (default 5s).
	MaxBackoff time.Duration
	// Metrics, if set, counts the deliveries by outcome.
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	if c.Queue == "" {
		c.Queue = "ordersaga.timeline"
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 64
	}
	if c.Attempts <= 0 {
		c.Attempts = 5
	}
	if c.DeliveryLimit <= 0 {
		c.DeliveryLimit = 5
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
}

// Stats are a projector's counters.
type Stats struct {
	Applied      int64 // events written to a timeline
	Duplicates   int64 // deliveries of an event already seen, dropped
	DeadLettered int64 // poison messages rejected to the dead-letter queue
	Requeued     int64 // deliveries handed back after failing Attempts times
	Skipped      int64 // events about no saga (inventory.restocked), acknowledged unwritten
}

// Projector consumes every domain event into the timeline Store.
//
// Each delivery is acknowledged only after its write; an undecodable message
// is rejected to the dead-letter queue at once; one whose write keeps failing
// is requeued, and dead-lettered by the broker after DeliveryLimit deliveries.
// Nothing blocks the queue for good and nothing loops forever. A timeline is
// an order's: an event about no saga (no workflowid, such as
// inventory.restocked, whose subject is a SKU) is acknowledged unwritten.
type Projector struct {
	cfg    Config
	store  *Store
	log    *slog.Logger
	tracer trace.Tracer

	applied, dups, dead, requeued, skipped atomic.Int64
	// consuming is true while a session holds a consumer on the queue.
	consuming atomic.Bool
}

// Consuming is the projector's readiness: nil while it holds a consumer on
// its queue, an error while it is (re)connecting.
func (p *Projector) Consuming(context.Context) error {
	if p.consuming.Load() {
		return nil
	}
	return errors.New("not consuming: the timeline consumer is connecting")
}

// NewProjector returns a projector writing to store.
func NewProjector(cfg Config, store *Store, log *slog.Logger) (*Projector, error) {
	cfg.setDefaults()
	if cfg.URL == "" {
		return nil, errors.New("timeline: URL is required")
	}
	return &Projector{cfg: cfg, store: store, log: log.With("consumer", cfg.Queue), tracer: newTracer()}, nil
}

// Stats returns the projector's counters.
func (p *Projector) Stats() Stats {
	return Stats{Applied: p.applied.Load(), Duplicates: p.dups.Load(), DeadLettered: p.dead.Load(), Requeued: p.requeued.Load(), Skipped: p.skipped.Load()}
}

// Declare declares the projector's queue and the topology, so events
// published from now on reach it. Run declares it too.
func (p *Projector) Declare(ctx context.Context) error {
	conn, ch, err := broker.Open(ctx, p.cfg.URL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	return p.cfg.Topology.DeclareConsumerQueue(ch, p.cfg.Queue, p.cfg.DeliveryLimit)
}

// Run consumes until ctx is cancelled, reconnecting with backoff. It returns
// nil after ctx is cancelled.
func (p *Projector) Run(ctx context.Context) error {
	backoff := broker.Backoff{Max: p.cfg.MaxBackoff}
	for ctx.Err() == nil {
		err := p.session(ctx)
		if ctx.Err() != nil {
			break
		}
		wait := backoff.Next()
		p.log.Warn("timeline consumer interrupted; reconnecting", "error", err, "backoff", wait)
		broker.Sleep(ctx, wait)
	}
	return nil
}

func (p *Projector) session(ctx context.Context) error {
	conn, ch, err := broker.Open(ctx, p.cfg.URL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := p.cfg.Topology.DeclareConsumerQueue(ch, p.cfg.Queue, p.cfg.DeliveryLimit); err != nil {
		return err
	}
	if err := ch.Qos(p.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	deliveries, err := ch.ConsumeWithContext(ctx, p.cfg.Queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", p.cfg.Queue, err)
	}
	p.consuming.Store(true)
	defer p.consuming.Store(false)
	p.log.Info("timeline consumer connected", "broker", broker.Redacted(p.cfg.URL))
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("delivery channel closed")
			}
			if err := p.handle(ctx, d); err != nil {
				return err
			}
		}
	}
}

// handle processes one delivery and settles it; an error means the channel
// is unusable. Applying an event is a span in the trace the event carries.
func (p *Projector) handle(ctx context.Context, d amqp.Delivery) error {
	ev, err := events.Decode(d.Body)
	if err != nil {
		p.log.Error("dead-lettering an undecodable message", "message_id", d.MessageId, "error", err)
		p.dead.Add(1)
		p.cfg.Metrics.delivered(outcomeDeadLettered)
		return d.Reject(false)
	}
	if ev.WorkflowID == "" {
		p.skipped.Add(1)
		p.cfg.Metrics.delivered(outcomeSkipped)
		return d.Ack(false)
	}
	ctx, span := p.startApply(ctx, ev)
	backoff := broker.Backoff{Min: 50 * time.Millisecond, Max: p.cfg.MaxBackoff}
	for attempt := 1; ; attempt++ {
		applied, err := p.store.Apply(ctx, ev, d.Body)
		if err == nil {
			outcome := outcomeApplied
			if applied {
				p.applied.Add(1)
			} else {
				p.dups.Add(1)
				outcome = outcomeDuplicate
			}
			p.cfg.Metrics.delivered(outcome)
			endApply(span, outcome, nil)
			return d.Ack(false)
		}
		if attempt >= p.cfg.Attempts && ctx.Err() == nil && deliveries(d) >= p.cfg.DeliveryLimit {
			// Its last delivery: handed back, the broker would dead-letter
			// it. Do so here, so that it is counted.
			p.log.Error("dead-lettering an event that could not be applied", "event", ev.ID,
				"deliveries", deliveries(d), "error", err)
			p.dead.Add(1)
			p.cfg.Metrics.delivered(outcomeDeadLettered)
			endApply(span, outcomeDeadLettered, err)
			return d.Reject(false)
		}
		if attempt >= p.cfg.Attempts || ctx.Err() != nil {
			p.log.Warn("handing a delivery back to the broker", "event", ev.ID, "attempts", attempt, "error", err)
			p.requeued.Add(1)
			p.cfg.Metrics.delivered(outcomeRequeued)
			endApply(span, outcomeRequeued, err)
			return d.Nack(false, true)
		}
		broker.Sleep(ctx, backoff.Next())
	}
}

// deliveries is how many times d has been delivered, this time included:
// one more than the quorum queue's x-delivery-count (its earlier returns).
func deliveries(d amqp.Delivery) int {
	switch n := d.Headers["x-delivery-count"].(type) {
	case int64:
		return int(n) + 1
	case int32:
		return int(n) + 1
	case int:
		return n + 1
	}
	return 1
}
