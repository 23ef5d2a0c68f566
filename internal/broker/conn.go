package broker

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Open dials rawURL (see Dial) and opens a channel. Closing the connection
// closes the channel.
func Open(ctx context.Context, rawURL string, timeout time.Duration) (*amqp.Connection, *amqp.Channel, error) {
	conn, err := Dial(ctx, rawURL, timeout)
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("open channel: %w", err)
	}
	return conn, ch, nil
}

// Backoff is the wait between attempts: it starts at Min (default 100ms),
// doubles up to Max (when set), and Reset starts over.
type Backoff struct {
	Min, Max time.Duration
	next     time.Duration
}

// Next returns the wait before the next attempt and doubles the one after.
func (b *Backoff) Next() time.Duration {
	d := b.next
	if d == 0 {
		d = b.Min
		if d <= 0 {
			d = 100 * time.Millisecond
		}
	}
	if b.Max > 0 {
		d = min(d, b.Max)
	}
	b.next = 2 * d
	return d
}

// Reset makes the next wait Min again.
func (b *Backoff) Reset() { b.next = 0 }

// Sleep waits d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Reachable reports whether RabbitMQ at rawURL accepts a connection before
// ctx's deadline (2s without one): a readiness check. It opens and closes
// a connection of its own.
func Reachable(ctx context.Context, rawURL string) error {
	timeout := 2 * time.Second
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
	}
	conn, err := Dial(ctx, rawURL, timeout)
	if err != nil {
		return err
	}
	return conn.Close()
}
