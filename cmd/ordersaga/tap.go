package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ordersaga/ordersaga/internal/broker"
)

// TapCmd prints the domain events as they are published.
type TapCmd struct {
	Bindings    []string `arg:"" optional:"" help:"Routing-key patterns to watch (default '#': every event), e.g. 'payment.*'."`
	Count       int      `help:"Stop after this many events (0: run until interrupted)."`
	RabbitFlags `embed:""`
}

// Run binds a throwaway queue to the events exchange and prints each event
// as one JSON line until ctx is cancelled.
func (c *TapCmd) Run(ctx context.Context, log *slog.Logger, stdout io.Writer) error {
	conn, ch, err := broker.Open(ctx, c.RabbitMQURL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	topo := c.topology()
	if err := topo.Declare(ch); err != nil {
		return err
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return fmt.Errorf("declare tap queue: %w", err)
	}
	bindings := c.Bindings
	if len(bindings) == 0 {
		bindings = []string{"#"}
	}
	for _, b := range bindings {
		if err := ch.QueueBind(q.Name, b, topo.EventsExchange(), false, nil); err != nil {
			return fmt.Errorf("bind tap to %s: %w", b, err)
		}
	}
	deliveries, err := ch.ConsumeWithContext(ctx, q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume tap: %w", err)
	}
	log.Info("tapping", "exchange", topo.EventsExchange(), "bindings", bindings)
	n := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("tap closed by the broker")
			}
			fmt.Fprintf(stdout, "%s\n", d.Body)
			if n++; c.Count > 0 && n >= c.Count {
				return nil
			}
		}
	}
}
