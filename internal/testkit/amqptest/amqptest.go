// Package amqptest connects tests to the real RabbitMQ they run against,
// each test on its own topology.
package amqptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ordersaga/ordersaga/internal/broker"
)

// URL is the RabbitMQ the tests use: $RABBITMQ_URL, or the local default.
func URL() string {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// Topology returns a fresh topology for the test (its own exchange name) and
// a channel; it fails the test, never skips it, when RabbitMQ is
// unreachable, and deletes the topology and the given queues at cleanup.
func Topology(t testing.TB, queues ...string) (broker.Topology, *amqp.Channel) {
	t.Helper()
	conn := Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("amqptest: channel: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	topo := broker.Topology{Exchange: "test-" + hex.EncodeToString(b[:]) + ".events"}
	if err := topo.Declare(ch); err != nil {
		t.Fatalf("amqptest: declare: %v", err)
	}
	t.Cleanup(func() {
		if err := topo.DeleteAt(context.Background(), URL(), queues...); err != nil {
			t.Errorf("amqptest: cleanup: %v", err)
		}
	})
	return topo, ch
}

// Dial connects to URL(), failing the test if it cannot; the connection is
// closed at cleanup.
func Dial(t testing.TB) *amqp.Connection {
	t.Helper()
	conn, err := broker.Dial(context.Background(), URL(), 5*time.Second)
	if err != nil {
		t.Fatalf("amqptest: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Tap declares an exclusive queue bound to every event of topo and returns
// its deliveries.
func Tap(t testing.TB, topo broker.Topology) <-chan amqp.Delivery {
	t.Helper()
	ch, err := Dial(t).Channel()
	if err != nil {
		t.Fatalf("amqptest: channel: %v", err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatalf("amqptest: declare tap: %v", err)
	}
	if err := ch.QueueBind(q.Name, "#", topo.EventsExchange(), false, nil); err != nil {
		t.Fatalf("amqptest: bind tap: %v", err)
	}
	d, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatalf("amqptest: consume tap: %v", err)
	}
	return d
}
