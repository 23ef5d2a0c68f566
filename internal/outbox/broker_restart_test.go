//go:build brokerrestart

// Stops and starts the real RabbitMQ, so it runs on its own, not beside
// other packages' tests: go test -tags brokerrestart -run BrokerRestart ./internal/outbox
// (part of `task test`).
package outbox_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestBrokerRestartLosesNothing stops RabbitMQ's app mid-stream and starts
// it again; every event still arrives. The broker is left running.
func TestBrokerRestartLosesNothing(t *testing.T) {
	rdb, prefix := redistest.New(t)
	topo, ch := amqptest.Topology(t, "restart-consumer-"+prefix)
	queue := "restart-consumer-" + prefix
	// A durable queue, so the events published before the restart survive it.
	_, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(queue, "#", topo.EventsExchange(), false, nil))
	stream := prefix + "{order}:outbox"
	startRelay(t, rdb, outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo, MaxBackoff: 500 * time.Millisecond})

	ids := fill(t, rdb, stream, "o1", 0, 500)
	requireDrained(t, rdb, stream)
	t.Cleanup(func() { rabbitmqctl(t, "start_app") })
	rabbitmqctl(t, "stop_app")
	ids = append(ids, fill(t, rdb, stream, "o1", 500, 500)...) // written while the broker is down
	time.Sleep(time.Second)
	rabbitmqctl(t, "start_app")
	requireDrained(t, rdb, stream)

	conn, err := broker.Dial(context.Background(), amqptest.URL(), 10*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	cch, err := conn.Channel()
	require.NoError(t, err)
	deliveries, err := cch.Consume(queue, "", true, false, false, false, nil)
	require.NoError(t, err)
	seen, _ := collect(t, deliveries, ids, 30*time.Second)
	require.Len(t, seen, 1000)
}

func rabbitmqctl(t *testing.T, cmd string) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", cmd).CombinedOutput()
	require.NoError(t, err, "rabbitmqctl %s: %s", cmd, out)
	if cmd == "start_app" {
		require.Eventually(t, func() bool {
			c, err := amqp.Dial(amqptest.URL())
			if err == nil {
				c.Close()
			}
			return err == nil
		}, 60*time.Second, 200*time.Millisecond, "RabbitMQ is back")
	}
}
