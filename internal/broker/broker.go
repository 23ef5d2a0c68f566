// Package broker owns ordersaga's RabbitMQ topology and connections.
//
// Topology, declared idempotently by every process that publishes or
// consumes:
//
//	ordersaga.events           durable topic exchange; routing key = event type;
//	                           alternate exchange ordersaga.events.unrouted
//	ordersaga.events.unrouted  fanout exchange + durable queue of the same name:
//	                           events no queue was bound for, kept rather than dropped
//	ordersaga.events.dlx       fanout dead-letter exchange
//	ordersaga.events.dlq       durable queue bound to it: poison messages
//	<consumer queue>           durable quorum queue per consumer, bound to
//	                           ordersaga.events, dead-lettering to ordersaga.events.dlx
//	                           after a delivery limit
//
// Another exchange name (Topology.Exchange) gives the same topology under
// that name.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Topology names the exchanges and queues. The zero value is the default
// topology, on exchange "ordersaga.events"; another exchange name gives a
// separate topology (tests use one each).
type Topology struct {
	// Exchange is the durable topic exchange events are published to.
	Exchange string
}

// DefaultExchange is the exchange of the default topology.
const DefaultExchange = "ordersaga.events"

func (t Topology) exchange() string {
	if t.Exchange == "" {
		return DefaultExchange
	}
	return t.Exchange
}

// EventsExchange is the topic exchange events are published to.
func (t Topology) EventsExchange() string { return t.exchange() }

// UnroutedQueue keeps events no consumer queue was bound for.
func (t Topology) UnroutedQueue() string { return t.exchange() + ".unrouted" }

// DeadLetterExchange receives poison messages.
func (t Topology) DeadLetterExchange() string { return t.exchange() + ".dlx" }

// DeadLetterQueue keeps poison messages for inspection.
func (t Topology) DeadLetterQueue() string { return t.exchange() + ".dlq" }

// Dial connects to RabbitMQ within timeout. The error names the URL
// (without its password).
func Dial(ctx context.Context, rawURL string, timeout time.Duration) (*amqp.Connection, error) {
	cfg := amqp.Config{Heartbeat: 10 * time.Second, Locale: "en_US", Dial: amqp.DefaultDial(timeout),
		Properties: amqp.Table{"connection_name": "ordersaga"}}
	conn, err := amqp.DialConfig(rawURL, cfg)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq at %s is unreachable (%v); start it with `docker compose up -d rabbitmq` or `rabbitmq-server -detached`", Redacted(rawURL), err)
	}
	return conn, nil
}

// Redacted returns rawURL with its password masked.
func Redacted(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Redacted()
	}
	return "(unparsable url)"
}

// Declare declares the exchanges and the dead-letter and unrouted queues.
// It is idempotent.
func (t Topology) Declare(ch *amqp.Channel) error {
	unrouted := t.UnroutedQueue() // the fanout exchange and its queue share the name
	if err := ch.ExchangeDeclare(unrouted, amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare %s: %w", unrouted, err)
	}
	if err := ch.ExchangeDeclare(t.EventsExchange(), amqp.ExchangeTopic, true, false, false, false,
		amqp.Table{"alternate-exchange": unrouted}); err != nil {
		return fmt.Errorf("declare %s: %w", t.EventsExchange(), err)
	}
	if err := ch.ExchangeDeclare(t.DeadLetterExchange(), amqp.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare %s: %w", t.DeadLetterExchange(), err)
	}
	for q, ex := range map[string]string{unrouted: unrouted, t.DeadLetterQueue(): t.DeadLetterExchange()} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare %s: %w", q, err)
		}
		if err := ch.QueueBind(q, "", ex, false, nil); err != nil {
			return fmt.Errorf("bind %s: %w", q, err)
		}
	}
	return nil
}

// DeclareConsumerQueue declares the topology and a consumer's durable quorum
// queue, bound to every event type (or to the given binding keys), which
// dead-letters a message to DeadLetterExchange once it has been delivered
// deliveryLimit times without an ack, or at once when rejected.
func (t Topology) DeclareConsumerQueue(ch *amqp.Channel, name string, deliveryLimit int, bindings ...string) error {
	if err := t.Declare(ch); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(name, true, false, false, false, amqp.Table{
		"x-queue-type":           "quorum",
		"x-delivery-limit":       deliveryLimit,
		"x-dead-letter-exchange": t.DeadLetterExchange(),
	}); err != nil {
		return fmt.Errorf("declare %s: %w", name, err)
	}
	if len(bindings) == 0 {
		bindings = []string{"#"}
	}
	for _, key := range bindings {
		if err := ch.QueueBind(name, key, t.EventsExchange(), false, nil); err != nil {
			return fmt.Errorf("bind %s to %s: %w", name, key, err)
		}
	}
	return nil
}

// Delete removes the topology and the given consumer queues (tests use it
// to clean up after themselves).
func (t Topology) Delete(ch *amqp.Channel, queues ...string) error {
	var errs []error
	for _, q := range append(queues, t.UnroutedQueue(), t.DeadLetterQueue()) {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ex := range []string{t.EventsExchange(), t.UnroutedQueue(), t.DeadLetterExchange()} {
		if err := ch.ExchangeDelete(ex, false, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteAt connects to rawURL and deletes the topology and the given
// consumer queues (see Delete).
func (t Topology) DeleteAt(ctx context.Context, rawURL string, queues ...string) error {
	conn, ch, err := Open(ctx, rawURL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	return t.Delete(ch, queues...)
}
