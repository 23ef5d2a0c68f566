package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ordersaga/ordersaga/internal/broker"
	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/services/timeline"
)

func (f RabbitFlags) topology() broker.Topology { return broker.Topology{Exchange: f.RabbitMQExchange} }

// checkRabbit connects to RabbitMQ once and declares the topology, so an
// unreachable broker stops the process at start with one line.
func checkRabbit(ctx context.Context, f RabbitFlags) error {
	conn, ch, err := broker.Open(ctx, f.RabbitMQURL, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f.topology().Declare(ch)
}

// newRegistry returns a Prometheus registry with the Go and process
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// background runs functions until stopped.
type background struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ctx    context.Context
}

func newBackground() *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{ctx: ctx, cancel: cancel}
}

func (b *background) Go(run func(ctx context.Context) error, log *slog.Logger, name string) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if err := run(b.ctx); err != nil {
			log.Error(name+" stopped", "error", err)
		}
	}()
}

// Stop cancels everything and waits for it to return.
func (b *background) Stop() {
	b.cancel()
	b.wg.Wait()
}

// startRelays starts the outbox relay of each of the catalog's services
// among names.
func startRelays(bg *background, names []string, rf RedisFlags, pool *redisPool, rab RabbitFlags,
	metrics *outbox.Metrics, log *slog.Logger) error {
	for _, s := range hostedIn(names) {
		r, err := outbox.New(pool.get(rf.url(s)), outbox.Config{
			URL: rab.RabbitMQURL, Stream: rf.keyspace(s.name).Outbox(), Name: s.name, Topology: rab.topology(),
		}, log, metrics)
		if err != nil {
			return err
		}
		bg.Go(r.Run, log, "outbox relay "+s.name)
	}
	return nil
}

// newTimeline returns the timeline store of rf.
func newTimeline(rf CommonRedisFlags, pool *redisPool) *timeline.Store {
	return timeline.NewStore(pool.get(rf.timelineURL()), string(rf.keyspace("timeline")))
}

// startProjector declares the projector's queue (so no event published from
// now on misses it) and runs it in bg.
func startProjector(ctx context.Context, bg *background, store *timeline.Store, rab RabbitFlags, tf TimelineFlags,
	metrics *timeline.Metrics, log *slog.Logger) (servicehttp.Check, error) {
	p, err := timeline.NewProjector(timeline.Config{
		URL: rab.RabbitMQURL, Queue: tf.TimelineQueue, Topology: rab.topology(),
		Prefetch: tf.TimelinePrefetch, DeliveryLimit: tf.TimelineDeliveryLimit, Metrics: metrics,
	}, store, log)
	if err != nil {
		return servicehttp.Check{}, err
	}
	if err := p.Declare(ctx); err != nil {
		return servicehttp.Check{}, err
	}
	bg.Go(p.Run, log, "timeline projector")
	return servicehttp.Check{Name: "timeline consumer", Fn: p.Consuming}, nil
}
