// Command ordersaga runs the order fulfillment saga: everything in one
// process (`ordersaga dev`), or each production role on its own (`worker`,
// `api`, `payment-provider`). `ordersaga --help` lists every command, flag
// and environment variable.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga/internal/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ordersaga: "+oneLine(err.Error()))
		os.Exit(1)
	}
}

// exit carries kong's exit code (after --help) out of the parser.
type exit int

// run parses args and runs the chosen command until ctx is cancelled or the
// command ends. It returns nil after --help.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var cli CLI
	parser, file, err := newParser(&cli, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if v := recover(); v != nil {
			code, ok := v.(exit)
			if !ok {
				panic(v)
			}
			if code != 0 {
				err = fmt.Errorf("exit status %d", code)
			}
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		return err
	}
	if err := checkSettings(kctx, file); err != nil {
		return err
	}
	log := newLogger(cli.LogLevel, cli.LogFormat, stderr)
	slog.SetDefault(log)
	redis.SetLogger(redisLog{log: log})
	service := "ordersaga"
	if cmd := strings.Fields(kctx.Command()); len(cmd) > 0 {
		service += "-" + cmd[0] // OTEL_SERVICE_NAME overrides it
	}
	shutdownTracing, err := telemetry.SetupTracing(ctx, service, log)
	if err != nil {
		return err
	}
	defer flushTraces(shutdownTracing, log)
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.BindTo(stdout, (*io.Writer)(nil))
	kctx.Bind(&cli)
	return kctx.Run(log)
}

// flushTraces exports the spans still buffered, waiting up to 5s.
func flushTraces(shutdown func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		log.Warn("flush traces", "error", err)
	}
}

// newParser returns the parser of the whole configuration into cli, and
// the --config file it reads once parsing starts.
func newParser(cli *CLI, stdout, stderr io.Writer) (*kong.Kong, *configFile, error) {
	file := &configFile{}
	k, err := kong.New(cli,
		kong.Name("ordersaga"),
		kong.Description("A durable saga orchestrator for order fulfillment, on Temporal."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exit(code)) }),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Configuration(file.load),
		kong.Resolvers(kong.ResolverFunc(secretFiles)),
	)
	return k, file, err
}

func newLogger(level, format string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// oneLine keeps the first line of a message: a startup error is one line,
// never a stack trace.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
