package outbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// Run: go test -run '^$' -bench . -benchtime 20000x ./internal/outbox
//
// BenchmarkRelayThroughput drains b.N events from a full outbox through the
// relay, with publisher confirms; BenchmarkConfirmEachBaseline publishes the
// same events waiting for each confirm (the naive relay) on the same broker,
// so the two events/s figures compare within one run.

func BenchmarkRelayThroughput(b *testing.B) {
	rdb, prefix := redistest.New(b)
	topo, _ := amqptest.Topology(b)
	stream := prefix + "{bench}:outbox"
	fill(b, rdb, stream, "bench", 0, b.N)
	r, err := outbox.New(rdb, outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo}, quiet, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	go func() { _ = r.Run(ctx) }()
	for r.Stats().Published < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

func BenchmarkConfirmEachBaseline(b *testing.B) {
	topo, ch := amqptest.Topology(b)
	if err := ch.Confirm(false); err != nil {
		b.Fatal(err)
	}
	ev, _ := events.New(events.SourceOrder, events.OrderCreated, "order-x/step", "order-x", "x", time.Now(), map[string]int{"i": 1})
	body, _ := eventJSON(ev)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, topo.EventsExchange(), events.OrderCreated, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(body)})
		if err != nil {
			b.Fatal(err)
		}
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			b.Fatalf("confirm: %v %v", ok, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkRelayLag appends b.N events at a steady 5,000 events/s while the
// relay runs, and reports how long events waited from their append to
// their delivery to a consumer (p50, p99): the outbox lag under load, plus
// one broker hop.
func BenchmarkRelayLag(b *testing.B) {
	const rate = 5000
	rdb, prefix := redistest.New(b)
	topo, _ := amqptest.Topology(b)
	tap := amqptest.Tap(b, topo)
	stream := prefix + "{bench}:outbox"
	r, err := outbox.New(rdb, outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo}, quiet, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	time.Sleep(200 * time.Millisecond) // connected

	lags := make([]time.Duration, 0, b.N)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range tap {
			ev, err := events.Decode(d.Body)
			if err != nil {
				continue
			}
			lags = append(lags, time.Since(ev.Time))
			if len(lags) == b.N {
				return
			}
		}
	}()
	b.ResetTimer()
	const tick = 10 * time.Millisecond
	perTick := rate * int(tick/time.Millisecond) / 1000
	next := time.Now()
	for sent := 0; sent < b.N; sent += perTick {
		fill(b, rdb, stream, "bench", sent, min(perTick, b.N-sent))
		next = next.Add(tick)
		time.Sleep(time.Until(next))
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatalf("only %d of %d events arrived", len(lags), b.N)
	}
	b.StopTimer()
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
}
