// Package outbox relays a service's transactional outbox — a Redis stream
// its state changes append events to — to RabbitMQ with publisher confirms.
//
// Contract: an entry is deleted from the stream only after the broker has
// confirmed it, so nothing is lost; entries are published in stream order and,
// after a nack, a confirm timeout or a lost connection, republished from the
// first unconfirmed one, so a consumer may see an event more than once
// (events carry stable IDs: consumers dedupe). One relay per outbox is active
// at a time (a Redis lease); others wait as standbys.
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

	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/events"
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
	// ConfirmTimeout bounds the wait for a batch's confirms (default 5s).
	ConfirmTimeout time.Duration
	// Block is how long to wait for new entries when the outbox is empty
	// (default 1s); new entries are picked up at once.
	Block time.Duration
	// LeaseTTL is how long the relay's lease lasts without renewal
	// (default 10s).
	LeaseTTL time.Duration
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
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.Name == "" {
		c.Name = c.Stream
	}
}

// Validate reports a missing URL or stream.
func (c Config) Validate() error {
	if c.URL == "" || c.Stream == "" {
		return errors.New("outbox: URL and Stream are required")
	}
	return nil
}

// Stats are a relay's counters since it started.
type Stats struct {
	Published int64 // entries confirmed by the broker and deleted
	Failed    int64 // publish attempts not confirmed (to be republished)
	// Lag is the age of the oldest entry not yet confirmed, as of the last
	// look; zero when the outbox is empty.
	Lag time.Duration
}

// Relay publishes one outbox. Run it with Run; it is not safe to run twice.
type Relay struct {
	rdb     redis.Cmdable
	cfg     Config
	log     *slog.Logger
	owner   string
	metrics *Metrics

	published, failed atomic.Int64
	lagNanos          atomic.Int64

	// crashAfterConfirm, if set and true, ends a session after the broker
	// confirmed a batch but before it is deleted: a crash at the worst
	// moment. Tests only.
	crashAfterConfirm func() bool
}

// New returns a relay of cfg.Stream in rdb. metrics may be nil.
func New(rdb redis.Cmdable, cfg Config, log *slog.Logger, metrics *Metrics) (*Relay, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Relay{rdb: rdb, cfg: cfg, log: log.With("outbox", cfg.Name), owner: hex.EncodeToString(b[:]), metrics: metrics}, nil
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{Published: r.published.Load(), Failed: r.failed.Load(), Lag: time.Duration(r.lagNanos.Load())}
}

// Run relays until ctx is cancelled, reconnecting with backoff on any
// failure. It returns nil after ctx is cancelled.
func (r *Relay) Run(ctx context.Context) error {
	backoff := broker.Backoff{Max: r.cfg.MaxBackoff}
	for ctx.Err() == nil {
		leader, err := r.acquire(ctx)
		if err != nil || !leader {
			if err != nil {
				r.log.Warn("outbox lease", "error", err)
			}
			broker.Sleep(ctx, r.cfg.LeaseTTL/3)
			continue
		}
		err = r.session(ctx)
		if ctx.Err() != nil {
			break
		}
		wait := backoff.Next()
		r.log.Warn("outbox relay interrupted; reconnecting", "error", err, "backoff", wait)
		broker.Sleep(ctx, wait)
		if err == nil {
			backoff.Reset()
		}
	}
	r.release()
	return nil
}

// session publishes over one AMQP connection until an error or ctx ends.
func (r *Relay) session(ctx context.Context) error {
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
	lastRenew := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-closed:
			return fmt.Errorf("channel closed: %v", e)
		default:
		}
		if time.Since(lastRenew) > r.cfg.LeaseTTL/3 {
			if ok, err := r.renew(ctx); err != nil || !ok {
				return fmt.Errorf("lost the outbox lease (%v)", err)
			}
			lastRenew = time.Now()
		}
		entries, err := r.read(ctx, start)
		if err != nil {
			return err
		}
		r.observeLag(entries)
		if len(entries) == 0 {
			continue
		}
		n, err := r.publish(ctx, ch, entries)
		if r.crashAfterConfirm != nil && r.crashAfterConfirm() {
			return errors.New("simulated crash between confirm and delete")
		}
		if n > 0 {
			ids := make([]string, n)
			for i := range n {
				ids[i] = entries[i].ID
			}
			if derr := r.rdb.XDel(ctx, r.cfg.Stream, ids...).Err(); derr != nil {
				return fmt.Errorf("delete published entries: %w", derr)
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

// publish sends entries with deferred confirms and returns how many leading
// entries the broker confirmed; err is set if any was not.
func (r *Relay) publish(ctx context.Context, ch *amqp.Channel, entries []redis.XMessage) (int, error) {
	pctx, cancel := context.WithTimeout(ctx, r.cfg.ConfirmTimeout)
	defer cancel()
	confirms := make([]*amqp.DeferredConfirmation, 0, len(entries))
	var perr error
	for _, e := range entries {
		msg, key := message(e)
		dc, err := ch.PublishWithDeferredConfirmWithContext(pctx, r.cfg.Topology.EventsExchange(), key, false, false, msg)
		if err != nil {
			perr = fmt.Errorf("publish: %w", err)
			break
		}
		confirms = append(confirms, dc)
	}
	for i, dc := range confirms {
		ok, err := dc.WaitContext(pctx)
		switch {
		case err != nil:
			return i, fmt.Errorf("wait for confirm: %w", err)
		case !ok:
			return i, errors.New("broker nacked a publish")
		}
	}
	return len(confirms), perr
}

// message builds the AMQP message of an outbox entry and its routing key.
func message(e redis.XMessage) (amqp.Publishing, string) {
	str := func(k string) string { s, _ := e.Values[k].(string); return s }
	typ, wf := str("type"), str("wf")
	return amqp.Publishing{
		ContentType:   events.ContentType,
		DeliveryMode:  amqp.Persistent,
		MessageId:     str("id"),
		Type:          typ,
		CorrelationId: wf,
		Timestamp:     entryTime(e.ID),
		Headers:       amqp.Table{"workflow_id": wf, "subject": str("subject")},
		Body:          []byte(str("event")),
	}, typ
}

// entryTime is when an entry was appended: the milliseconds of its ID.
func entryTime(id string) time.Time {
	ms, _ := strconv.ParseInt(strings.SplitN(id, "-", 2)[0], 10, 64)
	return time.UnixMilli(ms)
}

func (r *Relay) observeLag(entries []redis.XMessage) {
	var lag time.Duration
	if len(entries) > 0 {
		lag = max(time.Since(entryTime(entries[0].ID)), 0)
	}
	r.lagNanos.Store(int64(lag))
	r.metrics.lag(r.cfg.Name, lag)
}

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

func (r *Relay) leaseKey() string { return r.cfg.Stream + ":lease" }

func (r *Relay) acquire(ctx context.Context) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, r.leaseKey(), r.owner, r.cfg.LeaseTTL).Result()
	if err != nil || ok {
		return ok, err
	}
	return r.renew(ctx) // we may hold it already
}

func (r *Relay) renew(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, r.rdb, []string{r.leaseKey()}, r.owner, r.cfg.LeaseTTL.Milliseconds()).Int()
	return n == 1, err
}

func (r *Relay) release() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = releaseScript.Run(ctx, r.rdb, []string{r.leaseKey()}, r.owner).Err()
}
