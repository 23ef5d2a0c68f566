// Package outbox relays a service's transactional outbox — a Redis stream
// its state changes append events to — to RabbitMQ with publisher confirms.
//
// Contract: an entry is deleted from the stream only after the broker has
// confirmed it, so nothing is lost; entries are published in stream order and,
// after a nack, a confirm timeout or a lost connection, republished from the
// first unconfirmed one, so a consumer may see an event more than once
// (events carry stable IDs: consumers dedupe).
//
// One relay per outbox publishes at a time, under an exclusive lease in Redis
// (key <stream>:lease); the others wait as standbys and poll for it every
// LeaseTTL/3. Each acquisition takes a fencing token from the counter
// <stream>:fence, which only increases. The holder renews its lease every
// LeaseTTL/3 on its own timer and counts it valid until the start of its last
// confirmed renewal (or acquisition) plus LeaseTTL minus LeaseMargin. It
// starts a batch only while the lease stays valid for the ConfirmTimeout the
// batch may take, and stops publishing at once — no further publish starts —
// when a renewal finds another token, or when no renewal is confirmed before
// that validity runs out; it then closes its connection, releases the lease
// if it is still its own, and stands by. So two relays never publish the same
// outbox at once, provided the relay's clock and Redis's drift apart by less
// than LeaseMargin over a LeaseTTL. Every message carries the token of the
// lease it was published under in its outbox_fence header: in the order the
// broker receives one outbox's messages, the tokens never decrease.
//
// Deletions are fenced: a script deletes confirmed entries only if the lease
// key still holds the relay's token, and otherwise deletes nothing, so a relay
// whose lease has passed to another changes nothing in the outbox (it learns
// it lost the lease and stops).
//
// Every relay, holder or standby, samples the outbox lag — the age of its
// oldest entry, zero when it is empty — every LagInterval, so the lag keeps
// growing while the broker is unreachable.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/events"
)

// Redis is what a Relay uses of a Redis client; *redis.Client and
// *redis.ClusterClient have it. The relay's scripts touch the stream, its
// lease (<stream>:lease) and its fence counter (<stream>:fence) at once:
// under Redis Cluster the stream's name must hold a hash tag, as a
// redislua.NewKeyspace's outbox does, so the three share a slot.
type Redis interface {
	redis.Scripter
	XRangeN(ctx context.Context, stream, start, stop string, count int64) *redis.XMessageSliceCmd
	XRead(ctx context.Context, a *redis.XReadArgs) *redis.XStreamSliceCmd
}

var (
	_ Redis = (*redis.Client)(nil)
	_ Redis = (*redis.ClusterClient)(nil)
)

// Config configures a Relay.
type Config struct {
	// URL of RabbitMQ.
	URL string
	// Stream is the outbox stream key.
	Stream string
	// Name labels the relay in logs and metrics (e.g. "inventory").
	Name string
	// Topology to publish to (default: broker's default topology).
	Topology broker.Topology
	// BatchSize is how many entries are published before waiting for their
	// confirms (default 500).
	BatchSize int
	// ConfirmTimeout bounds a batch: its publishes and the wait for their
	// confirms (default 5s).
	ConfirmTimeout time.Duration
	// Block is how long to wait for new entries when the outbox is empty
	// (default 1s); new entries are picked up at once.
	Block time.Duration
	// LeaseTTL is how long the relay's lease lasts in Redis without renewal
	// (default 10s). It is renewed every LeaseTTL/3.
	LeaseTTL time.Duration
	// LeaseMargin is how long before LeaseTTL runs out the holder counts its
	// lease expired: room for clock drift and for publishing to stop
	// (default LeaseTTL/10). ConfirmTimeout plus LeaseMargin must not exceed
	// two thirds of LeaseTTL, so that a batch fits between renewals.
	LeaseMargin time.Duration
	// LagInterval is how often the outbox lag is sampled (default 1s).
	LagInterval time.Duration
	// MaxBackoff caps the wait between reconnection attempts (default 5s).
	MaxBackoff time.Duration
}

func (c *Config) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.ConfirmTimeout <= 0 {
		c.ConfirmTimeout = 5 * time.Second
	}
	if c.Block <= 0 {
		c.Block = time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.LeaseMargin <= 0 {
		c.LeaseMargin = c.LeaseTTL / 10
	}
	if c.LagInterval <= 0 {
		c.LagInterval = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.Name == "" {
		c.Name = c.Stream
	}
}

// Validate reports a missing URL or stream, and a ConfirmTimeout and
// LeaseMargin that leave no room for a batch between lease renewals.
func (c Config) Validate() error {
	if c.URL == "" || c.Stream == "" {
		return errors.New("outbox: URL and Stream are required")
	}
	if c.ConfirmTimeout+c.LeaseMargin > c.LeaseTTL*2/3 {
		return fmt.Errorf("outbox: ConfirmTimeout (%s) plus LeaseMargin (%s) exceed two thirds of LeaseTTL (%s)",
			c.ConfirmTimeout, c.LeaseMargin, c.LeaseTTL)
	}
	return nil
}

// Stats are a relay's counters since it started.
type Stats struct {
	Published int64 // entries confirmed by the broker and deleted
	Failed    int64 // publish attempts not confirmed (to be republished)
	// Lag is the age of the outbox's oldest entry (not yet confirmed), as of
	// the last sample; zero when the outbox is empty.
	Lag time.Duration
}

// Relay publishes one outbox. Run it with Run; it is not safe to run twice.
type Relay struct {
	rdb     Redis
	cfg     Config
	log     *slog.Logger
	owner   string
	metrics *Metrics
	tracer  trace.Tracer

	published, failed atomic.Int64
	lagNanos          atomic.Int64
}

// New returns a relay of cfg.Stream in rdb. metrics may be nil.
func New(rdb Redis, cfg Config, log *slog.Logger, metrics *Metrics) (*Relay, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	metrics.init(cfg.Name)
	return &Relay{rdb: rdb, cfg: cfg, log: log.With("outbox", cfg.Name), owner: hex.EncodeToString(b[:]), metrics: metrics,
		tracer: newTracer()}, nil
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{Published: r.published.Load(), Failed: r.failed.Load(), Lag: time.Duration(r.lagNanos.Load())}
}

// Run relays until ctx is cancelled: it takes the outbox's lease when it is
// free and publishes while it holds it, reconnecting to the broker with
// backoff on any failure, and samples the lag throughout. It returns nil
// after ctx is cancelled, having released the lease.
func (r *Relay) Run(ctx context.Context) error {
	sampled := make(chan struct{})
	go func() { defer close(sampled); r.sampleLag(ctx) }()
	for ctx.Err() == nil {
		l, err := r.acquire(ctx)
		if err != nil {
			r.log.Warn("outbox lease", "error", err)
		}
		if l != nil {
			r.lead(ctx, l)
		}
		broker.Sleep(ctx, r.cfg.LeaseTTL/3)
	}
	<-sampled
	return nil
}

// lead publishes the outbox while l holds, reconnecting to the broker with
// backoff; when l is lost or ctx ends, it stops publishing and releases l.
func (r *Relay) lead(ctx context.Context, l *lease) {
	lctx, lose := context.WithCancelCause(ctx)
	kept := make(chan struct{})
	go func() { defer close(kept); r.keep(lctx, l, lose) }()
	r.log.Info("outbox lease acquired", "fence", l.fence)
	backoff := broker.Backoff{Max: r.cfg.MaxBackoff}
	for lctx.Err() == nil {
		err := r.session(lctx, l)
		if errors.Is(err, errLeaseLost) {
			lose(err)
		}
		if lctx.Err() != nil {
			break
		}
		wait := backoff.Next()
		r.log.Warn("outbox relay interrupted; reconnecting", "error", err, "backoff", wait)
		broker.Sleep(lctx, wait)
	}
	lose(nil)
	<-kept
	if ctx.Err() == nil {
		r.log.Warn("outbox lease lost; standing by", "fence", l.fence, "cause", context.Cause(lctx))
	}
	r.release(ctx, l)
}

// session publishes over one AMQP connection until an error or ctx ends; it
// returns errLeaseLost if a fenced delete found the lease gone.
func (r *Relay) session(ctx context.Context, l *lease) error {
	conn, ch, err := broker.Open(ctx, r.cfg.URL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := r.cfg.Topology.Declare(ch); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	r.log.Info("outbox relay connected", "broker", broker.Redacted(r.cfg.URL))
	start := "-" // re-read everything not yet deleted
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case e := <-closed:
			return fmt.Errorf("channel closed: %v", e)
		default:
		}
		entries, err := r.read(ctx, start)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			continue
		}
		// The batch takes at most ConfirmTimeout: start it only if the
		// lease is known to last that long.
		if err := l.await(ctx, r.cfg.ConfirmTimeout); err != nil {
			return err
		}
		n, err := r.publish(ctx, ch, l.fence, entries)
		if n > 0 {
			// Fenced, so safe to finish even after ctx ended: fewer duplicates.
			if derr := r.deleteFenced(context.WithoutCancel(ctx), l, entries[:n]); derr != nil {
				return derr
			}
			r.published.Add(int64(n))
			r.metrics.published(r.cfg.Name, n)
		}
		if err != nil {
			failed := len(entries) - n
			r.failed.Add(int64(failed))
			r.metrics.failed(r.cfg.Name, failed)
			return err
		}
		start = "(" + entries[len(entries)-1].ID
	}
}

// read returns up to BatchSize entries after start, waiting up to Block for
// new ones when there are none.
func (r *Relay) read(ctx context.Context, start string) ([]redis.XMessage, error) {
	entries, err := r.rdb.XRangeN(ctx, r.cfg.Stream, start, "+", int64(r.cfg.BatchSize)).Result()
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	if len(entries) > 0 {
		return entries, nil
	}
	after := strings.TrimPrefix(start, "(")
	if after == "-" {
		after = "0"
	}
	streams, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{r.cfg.Stream, after}, Count: int64(r.cfg.BatchSize), Block: r.cfg.Block}).Result()
	if errors.Is(err, redis.Nil) || ctx.Err() != nil {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wait for outbox entries: %w", err)
	}
	if len(streams) == 0 {
		return nil, nil
	}
	return streams[0].Messages, nil
}

// publish sends entries with deferred confirms, within ConfirmTimeout and
// until ctx ends, and returns how many leading entries the broker confirmed;
// err is set if any was not. Each publish is a span in its event's trace,
// ended when the broker's answer is known.
func (r *Relay) publish(ctx context.Context, ch *amqp.Channel, fence int64, entries []redis.XMessage) (int, error) {
	pctx, cancel := context.WithTimeout(ctx, r.cfg.ConfirmTimeout)
	defer cancel()
	confirms := make([]*amqp.DeferredConfirmation, 0, len(entries))
	spans := make([]trace.Span, 0, len(entries))
	var perr error
	for _, e := range entries {
		msg, key := message(e, fence)
		span := r.startPublish(pctx, msg, key)
		// Returns at once, publishing nothing, once pctx has ended.
		dc, err := ch.PublishWithDeferredConfirmWithContext(pctx, r.cfg.Topology.EventsExchange(), key, false, false, msg)
		if err != nil {
			perr = fmt.Errorf("publish: %w", err)
			endPublish(span, perr)
			break
		}
		confirms = append(confirms, dc)
		spans = append(spans, span)
	}
	for i, dc := range confirms {
		ok, err := dc.WaitContext(pctx)
		switch {
		case err != nil:
			err = fmt.Errorf("wait for confirm: %w", err)
		case !ok:
			err = errors.New("broker nacked a publish")
		}
		if err != nil {
			for _, span := range spans[i:] {
				endPublish(span, err)
			}
			return i, err
		}
		endPublish(spans[i], nil)
	}
	return len(confirms), perr
}

// message builds the AMQP message of an outbox entry, published under the
// lease of the given fencing token, and its routing key.
func message(e redis.XMessage, fence int64) (amqp.Publishing, string) {
	str := func(k string) string { s, _ := e.Values[k].(string); return s }
	typ, wf := str("type"), str("wf")
	return amqp.Publishing{
		ContentType:   events.ContentType,
		DeliveryMode:  amqp.Persistent,
		MessageId:     str("id"),
		Type:          typ,
		CorrelationId: wf,
		Timestamp:     entryTime(e.ID),
		Headers:       amqp.Table{"workflow_id": wf, "subject": str("subject"), "outbox_fence": fence},
		Body:          []byte(str("event")),
	}, typ
}

// entryTime is when an entry was appended: the milliseconds of its ID.
func entryTime(id string) time.Time {
	ms, _ := strconv.ParseInt(strings.SplitN(id, "-", 2)[0], 10, 64)
	return time.UnixMilli(ms)
}
