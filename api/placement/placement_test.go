package placement_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api/placement"
	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/workflows"
)

// sagas records the sagas started, refusing a second start of an order
// (ECONFLICT) as the orchestrator does, and failing the first failures
// starts as unavailable.
type sagas struct {
	mu       sync.Mutex
	started  map[string]workflows.Input
	failures int
	calls    int
}

func (s *sagas) Start(_ context.Context, in workflows.Input) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failures > 0 {
		s.failures--
		return ordersaga.Errorf(ordersaga.EUNAVAILABLE, "temporal is unreachable")
	}
	if _, ok := s.started[in.OrderID]; ok {
		return ordersaga.Errorf(ordersaga.ECONFLICT, "order %s exists", in.OrderID)
	}
	s.started[in.OrderID] = in
	return nil
}

func (s *sagas) snapshot() (map[string]workflows.Input, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]workflows.Input{}
	for k, v := range s.started {
		out[k] = v
	}
	return out, s.calls
}

// run starts a consumer on a fresh topology of the real RabbitMQ and
// returns it with a channel to publish on.
func run(t *testing.T, s *sagas) (*placement.Consumer, broker.Topology, *amqp.Channel) {
	t.Helper()
	queue := "test.placement." + t.Name()
	topo, ch := amqptest.Topology(t, queue)
	c, err := placement.New(placement.Config{URL: amqptest.URL(), Queue: queue, Topology: topo, MaxBackoff: 200 * time.Millisecond},
		s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	require.NoError(t, c.Declare(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { return c.Consuming(ctx) == nil }, 5*time.Second, 10*time.Millisecond)
	return c, topo, ch
}

// publish publishes body as the monolith does: to the events exchange,
// routing key order.placement_requested, persistent.
func publish(t *testing.T, ch *amqp.Channel, topo broker.Topology, body string) {
	t.Helper()
	require.NoError(t, ch.PublishWithContext(context.Background(), topo.EventsExchange(), placement.EventType, false, false,
		amqp.Publishing{ContentType: "application/cloudevents+json", DeliveryMode: amqp.Persistent, Body: []byte(body)}))
}

func event(id, typ, data string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"/monolith/checkout","type":"` + typ +
		`","subject":"cart-1","time":"2026-12-03T07:00:00Z","datacontenttype":"application/json","data":` + data + `}`
}

const goodData = `{"customer_id":"cust-1","items":[{"sku":"widget","quantity":2}],"payment_token":"tok_ok"}`

// TestPlacementEventStartsOneSaga ensures an order.placement_requested
// event starts a saga with its order, owned by the monolith's client, and
// the same event delivered again starts nothing more; an event naming its
// order ID starts that order.
func TestPlacementEventStartsOneSaga(t *testing.T) {
	t.Parallel()
	s := &sagas{started: map[string]workflows.Input{}}
	c, topo, ch := run(t, s)
	publish(t, ch, topo, event("evt-1", placement.EventType, goodData))
	publish(t, ch, topo, event("evt-1", placement.EventType, goodData))
	publish(t, ch, topo, event("evt-2", placement.EventType, `{"order_id":"legacy-42",`+goodData[1:]))
	require.Eventually(t, func() bool { st := c.Stats(); return st.Started+st.Duplicates == 3 }, 10*time.Second, 20*time.Millisecond)

	started, _ := s.snapshot()
	require.Len(t, started, 2)
	in := started[placement.OrderID("/monolith/checkout", "evt-1")]
	require.Equal(t, "monolith", in.ClientID)
	require.Equal(t, "cust-1", in.CustomerID)
	require.Equal(t, []ordersaga.Item{{SKU: "widget", Quantity: 2}}, in.Items)
	require.Equal(t, "tok_ok", in.PaymentToken)
	require.Contains(t, started, "legacy-42")
	require.Equal(t, placement.Stats{Started: 2, Duplicates: 1}, c.Stats())
}

// TestBadPlacementEventsAreDeadLetteredWithAReason ensures an event that
// can never start a saga lands in the dead-letter queue, its body intact
// and its reason in a header, and starts nothing.
func TestBadPlacementEventsAreDeadLetteredWithAReason(t *testing.T) {
	t.Parallel()
	s := &sagas{started: map[string]workflows.Input{}}
	c, topo, ch := run(t, s)
	for _, body := range []string{
		`not json`,
		event("evt-3", "order.created", goodData),
		event("evt-4", placement.EventType, `{"customer_id":"cust-1","items":[],"payment_token":"tok_ok"}`),
		event("evt-5", placement.EventType, `{"customer_id":"cust-1","items":[{"sku":"widget","quantity":1}],"payment_token":"tok_ok","coupon":"X"}`),
	} {
		publish(t, ch, topo, body)
	}
	want := map[string]string{
		"not json": "decode event",
		"evt-3":    `type "order.created"`,
		"evt-4":    "items must hold at least one line",
		"evt-5":    `unknown field "coupon"`,
	}
	got := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		d, ok, err := ch.Get(topo.DeadLetterQueue(), true)
		require.NoError(t, err)
		if !ok {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var ev struct{ ID string }
		key := "not json"
		if json.Unmarshal(d.Body, &ev) == nil {
			key = ev.ID
		}
		got[key], _ = d.Headers[placement.ReasonHeader].(string)
	}
	require.Len(t, got, len(want))
	for k, reason := range want {
		require.Contains(t, got[k], reason, k)
	}
	_, calls := s.snapshot()
	require.Zero(t, calls)
	// The count follows the dead-lettering (the broker may deliver first).
	require.Eventually(t, func() bool { return c.Stats().DeadLettered == 4 }, 5*time.Second, 10*time.Millisecond,
		"every bad event counted as dead-lettered")
}

// TestTransientFailuresAreRetried ensures a start that fails for a
// transient reason (the orchestrator unreachable) is retried, in process
// and after handing the event back, until the saga starts.
func TestTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	s := &sagas{started: map[string]workflows.Input{}, failures: 4}
	c, topo, ch := run(t, s)
	publish(t, ch, topo, event("evt-6", placement.EventType, goodData))
	require.Eventually(t, func() bool { return c.Stats().Started == 1 }, 15*time.Second, 20*time.Millisecond)
	_, calls := s.snapshot()
	require.Equal(t, 5, calls)
}
