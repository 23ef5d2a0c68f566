// Command faultsuite runs ordersaga as real processes — Temporal server,
// workers, API, projector, payment provider — drives orders through the API
// while it stops the payment provider for a minute (--outage) and meanwhile
// kills the worker and the Temporal server and cuts Redis and RabbitMQ,
// then checks that nothing was lost or applied twice: every saga ended,
// stock and money are conserved (each completed order charged or captured
// once, no card left held), every state change's event is in the timeline
// exactly once, and every tok_ok
// order placed during the provider outage completed. It prints one summary
// line and exits 1 on any violation.
//
//	go run ./cmd/faultsuite            # 200 orders (task faults)
//	go run ./cmd/faultsuite --orders 60 # the CI variant (task faults-short)
//	go run ./cmd/faultsuite --replicas 2 # two processes of every role; one of each SIGKILLed
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsuite: "+err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg Config
	parser, err := kong.New(&cfg, kong.Name("faultsuite"), kong.Writers(stdout, stderr),
		kong.Description("Fault-injection suite: real ordersaga processes under a payment provider outage, worker and server kills, Redis and RabbitMQ cuts."))
	if err != nil {
		return err
	}
	if _, err := parser.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	res, err := Run(ctx, cfg, log)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.Summary())
	return res.Err()
}
