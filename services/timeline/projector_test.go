package timeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/timeline"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type setup struct {
	topo  broker.Topology
	ch    *amqp.Channel
	queue string
	store *timeline.Store
	proj  *timeline.Projector
}

// newSetup starts a projector on its own topology and queue, writing to
// store (real Redis unless rdb is given).
func newSetup(t *testing.T, rdb redis.Cmdable, cfg timeline.Config) *setup {
	t.Helper()
	_, prefix := redistest.New(t)
	if rdb == nil {
		rdb, _ = redistest.New(t)
	}
	s := &setup{queue: prefix + "timeline"}
	s.topo, s.ch = amqptest.Topology(t, s.queue)
	s.store = timeline.NewStore(rdb, prefix+"timeline:")
	cfg.URL, cfg.Queue, cfg.Topology = amqptest.URL(), s.queue, s.topo
	var err error
	s.proj, err = timeline.NewProjector(cfg, s.store, quiet)
	require.NoError(t, err)
	require.NoError(t, s.proj.Declare(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.proj.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func (s *setup) publish(t *testing.T, id, routingKey string, body []byte) {
	t.Helper()
	require.NoError(t, s.ch.PublishWithContext(context.Background(), s.topo.EventsExchange(), routingKey, false, false,
		amqp.Publishing{MessageId: id, Body: body, DeliveryMode: amqp.Persistent}))
}

func event(t *testing.T, order string, typ string, at time.Time) (events.Event, []byte) {
	t.Helper()
	ev, err := events.New(events.SourceOrder, typ, "order-"+order+"/step", "order-"+order, order, at, map[string]string{"order_id": order})
	require.NoError(t, err)
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	return ev, raw
}

func (s *setup) timeline(t *testing.T, order string, n int) []events.Event {
	t.Helper()
	var evs []events.Event
	require.Eventually(t, func() bool {
		var err error
		evs, err = s.store.Events(context.Background(), order)
		return err == nil && len(evs) >= n
	}, 10*time.Second, 20*time.Millisecond)
	return evs
}

// deadLettered returns the message IDs in the topology's dead-letter queue.
func (s *setup) deadLettered(t *testing.T, want int) []string {
	t.Helper()
	var ids []string
	require.Eventually(t, func() bool {
		for {
			d, ok, err := s.ch.Get(s.topo.DeadLetterQueue(), true)
			require.NoError(t, err)
			if !ok {
				break
			}
			ids = append(ids, d.MessageId)
		}
		return len(ids) >= want
	}, 15*time.Second, 50*time.Millisecond)
	return ids
}

func TestTimelineKeepsEachEventOnceInOrder(t *testing.T) {
	t.Parallel()
	s := newSetup(t, nil, timeline.Config{})
	base := time.Now()
	created, rawCreated := event(t, "o1", events.OrderCreated, base)
	_, rawReserved := event(t, "o1", events.InventoryReserved, base.Add(time.Millisecond))
	_, rawConfirmed := event(t, "o1", events.OrderConfirmed, base.Add(2*time.Millisecond))
	// Out of order, and the first one twice (a relay republish).
	s.publish(t, "x", events.OrderConfirmed, rawConfirmed)
	s.publish(t, "x", events.OrderCreated, rawCreated)
	s.publish(t, "x", events.InventoryReserved, rawReserved)
	s.publish(t, "x", events.OrderCreated, rawCreated)

	s.timeline(t, "o1", 3)
	require.Eventually(t, func() bool { return s.proj.Stats().Duplicates == 1 }, 5*time.Second, 10*time.Millisecond)
	evs := s.timeline(t, "o1", 3)
	require.Len(t, evs, 3, "the duplicate is dropped by the inbox")
	require.Equal(t, []string{events.OrderCreated, events.InventoryReserved, events.OrderConfirmed},
		[]string{evs[0].Type, evs[1].Type, evs[2].Type})
	require.Equal(t, created.ID, evs[0].ID)
	require.EqualValues(t, 3, s.proj.Stats().Applied)
}

// TestPoisonMessageIsDeadLetteredWhileOthersFlow: an undecodable message
// goes to the dead-letter queue at once and does not hold up the next one.
func TestPoisonMessageIsDeadLetteredWhileOthersFlow(t *testing.T) {
	t.Parallel()
	s := newSetup(t, nil, timeline.Config{})
	s.publish(t, "poison-1", events.OrderCreated, []byte("{not json"))
	s.publish(t, "poison-2", events.OrderCreated, []byte(`{"specversion":"0.3"}`))
	_, raw := event(t, "o2", events.OrderCreated, time.Now())
	s.publish(t, "good", events.OrderCreated, raw)

	require.Len(t, s.timeline(t, "o2", 1), 1)
	require.ElementsMatch(t, []string{"poison-1", "poison-2"}, s.deadLettered(t, 2))
	require.EqualValues(t, 2, s.proj.Stats().DeadLettered)
}

// TestFailingWritesAreDeadLetteredAfterTheDeliveryLimit: when the write
// keeps failing, the message is retried, handed back, redelivered, and
// dead-lettered by the broker after DeliveryLimit deliveries — no endless
// loop.
func TestFailingWritesAreDeadLetteredAfterTheDeliveryLimit(t *testing.T) {
	t.Parallel()
	broken := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = broken.Close() })
	s := newSetup(t, broken, timeline.Config{Attempts: 2, DeliveryLimit: 2, MaxBackoff: 20 * time.Millisecond})
	_, raw := event(t, "o3", events.OrderCreated, time.Now())
	s.publish(t, "unwritable", events.OrderCreated, raw)
	require.Equal(t, []string{"unwritable"}, s.deadLettered(t, 1))
	require.EqualValues(t, 1, s.proj.Stats().Requeued, "handed back once, dead-lettered at its second delivery")
	require.EqualValues(t, 1, s.proj.Stats().DeadLettered, "counted")
}

func TestUnknownOrderHasAnEmptyTimeline(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	evs, err := timeline.NewStore(rdb, prefix+"timeline:").Events(context.Background(), fmt.Sprintf("nope-%d", time.Now().UnixNano()))
	require.NoError(t, err)
	require.Empty(t, evs)
}

// TestEventsAboutNoSagaAreSkipped: inventory.restocked is about a SKU: it
// is acknowledged, neither dead-lettered nor written to a timeline, and
// does not hold up the events behind it.
func TestEventsAboutNoSagaAreSkipped(t *testing.T) {
	t.Parallel()
	s := newSetup(t, nil, timeline.Config{})
	restock, err := events.New(events.SourceInventory, events.InventoryRestocked, "stock/widget", "", "widget", time.Now(),
		map[string]any{"sku": "widget", "available": 5})
	require.NoError(t, err)
	raw, err := json.Marshal(restock)
	require.NoError(t, err)
	s.publish(t, "restock", events.InventoryRestocked, raw)
	_, rawCreated := event(t, "o5", events.OrderCreated, time.Now())
	s.publish(t, "created", events.OrderCreated, rawCreated)

	require.Len(t, s.timeline(t, "o5", 1), 1)
	require.Eventually(t, func() bool { return s.proj.Stats().Skipped == 1 }, 5*time.Second, 10*time.Millisecond)
	evs, err := s.store.Events(context.Background(), "widget")
	require.NoError(t, err)
	require.Empty(t, evs, "a SKU has no timeline")
	require.Zero(t, s.proj.Stats().DeadLettered)
	d, ok, err := s.ch.Get(s.topo.DeadLetterQueue(), true)
	require.NoError(t, err)
	require.False(t, ok, "dead-lettered: %s", d.MessageId)
}

// TestTimelineUnreachableIsUnavailable: a timeline that cannot be read is a
// dependency down (the API's 503 with Retry-After), not an internal error.
func TestTimelineUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	broken := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = broken.Close() })
	_, err := timeline.NewStore(broken, "timeline:").Events(context.Background(), "o1")
	require.Equal(t, ordersaga.EUNAVAILABLE, ordersaga.ErrorCode(err), "%v", err)
	require.ErrorContains(t, err, "the timeline is unavailable")
}

// TestConsumingIsTheProjectorsReadiness: ready only while it holds a
// consumer on its queue.
func TestConsumingIsTheProjectorsReadiness(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	queue := prefix + "timeline"
	topo, _ := amqptest.Topology(t, queue)
	p, err := timeline.NewProjector(timeline.Config{URL: amqptest.URL(), Queue: queue, Topology: topo},
		timeline.NewStore(rdb, prefix+"timeline:"), quiet)
	require.NoError(t, err)
	require.ErrorContains(t, p.Consuming(context.Background()), "not consuming", "before it runs")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	require.Eventually(t, func() bool { return p.Consuming(context.Background()) == nil }, 10*time.Second, 10*time.Millisecond)
	cancel()
	<-done
	require.Error(t, p.Consuming(context.Background()), "after it stopped")
}
