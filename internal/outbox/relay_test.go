package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/faultproxy"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/timeline"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fill appends n events about order to the outbox stream, as the stores'
// scripts do.
func fill(t testing.TB, rdb redis.UniversalClient, stream, order string, from, n int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, 0, n)
	pipe := rdb.Pipeline()
	for i := from; i < from+n; i++ {
		ev, err := events.New(events.SourceOrder, events.OrderCreated, fmt.Sprintf("order-%s/step-%06d", order, i), "order-"+order, order,
			time.Now(), map[string]any{"i": i})
		require.NoError(t, err)
		raw, err := eventJSON(ev)
		require.NoError(t, err)
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"id", ev.ID, "type", ev.Type, "subject", ev.Subject, "wf", ev.WorkflowID, "event", raw}})
		ids = append(ids, ev.ID)
	}
	_, err := pipe.Exec(ctx)
	require.NoError(t, err)
	return ids
}

func eventJSON(ev events.Event) (string, error) {
	b, err := json.Marshal(ev)
	return string(b), err
}

// startRelay runs a relay until the test ends.
func startRelay(t *testing.T, rdb redis.UniversalClient, cfg outbox.Config) *outbox.Relay {
	t.Helper()
	r, err := outbox.New(rdb, cfg, quiet, nil)
	require.NoError(t, err)
	runRelay(t, r)
	return r
}

func runRelay(t *testing.T, r *outbox.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// collect reads deliveries until every id in want arrived (at least once) or
// the timeout passes; it returns each ID's delivery count and the IDs in
// first-arrival order.
func collect(t *testing.T, tap <-chan amqp.Delivery, want []string, timeout time.Duration) (map[string]int, []string) {
	t.Helper()
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	seen := map[string]int{}
	var order []string
	deadline := time.After(timeout)
	for len(order) < len(want) {
		select {
		case d := <-tap:
			if !wanted[d.MessageId] {
				continue
			}
			if seen[d.MessageId] == 0 {
				order = append(order, d.MessageId)
			}
			seen[d.MessageId]++
		case <-deadline:
			t.Fatalf("only %d of %d events arrived within %s", len(order), len(want), timeout)
		}
	}
	return seen, order
}

// brokerProxy returns a fault proxy to the test broker, closed when the
// test ends.
func brokerProxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	u, err := url.Parse(amqptest.URL())
	require.NoError(t, err)
	proxy, err := faultproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	return proxy
}

func requireDrained(t *testing.T, rdb redis.UniversalClient, stream string) {
	t.Helper()
	require.Eventually(t, func() bool { return rdb.XLen(context.Background(), stream).Val() == 0 }, 10*time.Second, 20*time.Millisecond,
		"every confirmed entry is deleted")
}

func TestRelayPublishesInOrderWithCloudEventProperties(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t)
	tap := amqptest.Tap(t, topo)
	stream := prefix + "{order}:outbox"
	ids := fill(t, rdb, stream, "o1", 0, 1200)
	r := startRelay(t, rdb, outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo, BatchSize: 100})

	seen, order := collect(t, tap, ids, 20*time.Second)
	require.Equal(t, ids, order, "one outbox's events arrive in the order they were written")
	for _, id := range ids {
		require.Equal(t, 1, seen[id])
	}
	requireDrained(t, rdb, stream)
	require.Eventually(t, func() bool { return r.Stats().Published == 1200 }, 5*time.Second, 10*time.Millisecond)

	// The message properties carry the event.
	more := fill(t, rdb, stream, "o2", 0, 1)
	for d := range tap {
		if d.MessageId != more[0] {
			continue
		}
		require.Equal(t, events.ContentType, d.ContentType)
		require.Equal(t, events.OrderCreated, d.Type)
		require.Equal(t, events.OrderCreated, d.RoutingKey)
		require.Equal(t, "order-o2", d.CorrelationId)
		require.Equal(t, "order-o2", d.Headers["workflow_id"])
		require.Equal(t, uint8(amqp.Persistent), d.DeliveryMode)
		ev, err := events.Decode(d.Body)
		require.NoError(t, err)
		require.Equal(t, "1.0", ev.SpecVersion)
		require.Equal(t, "o2", ev.Subject)
		break
	}
}

// TestRelaySurvivesCutConnection cuts the relay's connection to the broker
// mid-stream, twice, while events keep coming: nothing is lost.
func TestRelaySurvivesCutConnection(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t)
	tap := amqptest.Tap(t, topo)
	proxy := brokerProxy(t)
	stream := prefix + "{order}:outbox"
	r := startRelay(t, rdb, outbox.Config{URL: proxy.URL(amqptest.URL()), Stream: stream, Topology: topo, BatchSize: 50,
		MaxBackoff: 200 * time.Millisecond})

	var ids []string
	for round := range 6 {
		ids = append(ids, fill(t, rdb, stream, "o1", round*500, 500)...)
		time.Sleep(30 * time.Millisecond)
		if round == 1 || round == 3 {
			proxy.Cut()
			time.Sleep(300 * time.Millisecond)
			proxy.Restore()
		}
	}
	seen, _ := collect(t, tap, ids, 30*time.Second)
	require.Len(t, seen, len(ids), "every event arrives at least once")
	requireDrained(t, rdb, stream)
	// The relay counts a batch just after deleting it.
	require.Eventually(t, func() bool { return r.Stats().Published >= int64(len(ids)) }, 5*time.Second, 10*time.Millisecond,
		"published %d, want at least %d", r.Stats().Published, len(ids))
}

// crashBeforeFirstDelete returns a client to rdb's Redis on which the
// relay's first delete of confirmed entries fails without reaching Redis:
// the relay crashed between the broker's confirm and the delete.
func crashBeforeFirstDelete(t *testing.T, rdb redis.UniversalClient) redis.UniversalClient {
	t.Helper()
	var deletes atomic.Int32
	return hookedClient(t, rdb, scriptHook{script: outbox.DeleteScript,
		around: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
			if deletes.Add(1) == 1 {
				return errors.New("simulated crash between confirm and delete")
			}
			return next(ctx, cmd)
		}})
}

// TestRelayCrashBetweenConfirmAndDeleteRepublishes: the entries survive
// the crash and are published again — a duplicate consumers must drop.
func TestRelayCrashBetweenConfirmAndDeleteRepublishes(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t)
	tap := amqptest.Tap(t, topo)
	stream := prefix + "{order}:outbox"
	ids := fill(t, rdb, stream, "o1", 0, 10)
	startRelay(t, crashBeforeFirstDelete(t, rdb), outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo, MaxBackoff: 100 * time.Millisecond})

	seen, _ := collect(t, tap, ids, 10*time.Second)
	requireDrained(t, rdb, stream)
	deadline := time.After(5 * time.Second)
	for seen[ids[len(ids)-1]] < 2 {
		select {
		case d := <-tap:
			seen[d.MessageId]++
		case <-deadline:
			t.Fatal("the batch was not republished after the crash")
		}
	}
	for _, id := range ids {
		require.Equal(t, 2, seen[id], "published, crashed before delete, published again")
	}
}

// TestCrashDuplicateIsDroppedByTheTimelineInbox: the republished batch
// reaches the timeline projector twice and the timeline shows each event once.
func TestCrashDuplicateIsDroppedByTheTimelineInbox(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	queue := prefix + "timeline"
	topo, _ := amqptest.Topology(t, queue)
	store := timeline.NewStore(rdb, prefix+"timeline:")
	proj, err := timeline.NewProjector(timeline.Config{URL: amqptest.URL(), Queue: queue, Topology: topo}, store, quiet)
	require.NoError(t, err)
	require.NoError(t, proj.Declare(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = proj.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	stream := prefix + "{order}:outbox"
	ids := fill(t, rdb, stream, "o9", 0, 20)
	startRelay(t, crashBeforeFirstDelete(t, rdb), outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo, MaxBackoff: 100 * time.Millisecond})

	require.Eventually(t, func() bool { return proj.Stats().Duplicates == int64(len(ids)) }, 10*time.Second, 20*time.Millisecond,
		"every event of the republished batch arrives twice")
	evs, err := store.Events(context.Background(), "o9")
	require.NoError(t, err)
	require.Len(t, evs, len(ids), "the timeline shows each event once")
	for i, ev := range evs {
		require.Equal(t, ids[i], ev.ID)
	}
}

// TestOneRelayPerOutbox: a second relay on the same outbox stands by.
func TestOneRelayPerOutbox(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t)
	tap := amqptest.Tap(t, topo)
	stream := prefix + "{order}:outbox"
	a := startRelay(t, rdb, outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo})
	time.Sleep(200 * time.Millisecond)
	b := startRelay(t, rdb, outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo})
	ids := fill(t, rdb, stream, "o1", 0, 300)
	seen, _ := collect(t, tap, ids, 10*time.Second)
	for _, id := range ids {
		require.Equal(t, 1, seen[id])
	}
	require.Eventually(t, func() bool { return a.Stats().Published == 300 }, 5*time.Second, 10*time.Millisecond)
	require.Zero(t, b.Stats().Published)
}
