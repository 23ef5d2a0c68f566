package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/backlog"
	"github.com/ordersaga/ordersaga/api/fairshare"
	"github.com/ordersaga/ordersaga/api/idempotency"
	"github.com/ordersaga/ordersaga/api/ratelimit"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// serviceClients are the gateway's clients of the services' APIs.
type serviceClients struct {
	order     *order.Client
	inventory *inventory.Client
	payment   *payment.Client
}

// newServiceClients returns clients of the services' APIs at urls, sending
// token, each call bounded by gf's timeout.
func newServiceClients(urls ServiceURLFlags, token string, gf GatewayFlags, log *slog.Logger) (serviceClients, error) {
	cfg := func(url string) servicehttp.ClientConfig {
		return servicehttp.ClientConfig{BaseURL: url, Token: token, Timeout: gf.ServiceTimeout}
	}
	var sc serviceClients
	var err error
	if sc.order, err = order.NewClient(cfg(urls.OrderServiceURL), log); err != nil {
		return sc, err
	}
	if sc.inventory, err = inventory.NewClient(cfg(urls.InventoryServiceURL), log); err != nil {
		return sc, err
	}
	sc.payment, err = payment.NewClient(cfg(urls.PaymentServiceURL), log)
	return sc, err
}

// newAPI builds the gateway on a Temporal client, the services' APIs, and
// the gateway's own Redis keyspaces: its idempotency records and the
// timeline. It serves reg's metrics, with its own and the sagas needing
// attention. auth is the API's access control, checked by the caller before
// anything starts (APIFlags.auth). Admission control reads backlog (nil:
// off; see startBacklog).
func newAPI(c client.Client, rf CommonRedisFlags, pool *redisPool, svc serviceClients, af APIFlags, auth api.Auth, cf CodecFlags, reg *prometheus.Registry, backlog api.Backlog, log *slog.Logger) (http.Handler, error) {
	keys, err := cf.keyring()
	if err != nil {
		return nil, err
	}
	sagas := sagaclient.New(c)
	if keys != nil {
		// Search attributes are not encrypted: keep customer IDs out of them.
		sagas.CustomerRefs = keys.Refs
	}
	pool.name(rf.RedisURL, map[string]string{"timeline": rf.timelineURL()})
	checks := append([]api.Check{temporalCheck(c)}, pool.checks()...)
	reg.MustRegister(sagaclient.NewAttentionCollector(c, log))
	admission := api.Admission{MaxBacklogAge: af.AdmissionMaxBacklogAge, RetryAfter: af.AdmissionRetryAfter,
		MaxWaitingOnMissing: af.AdmissionMaxWaitingOnMissing}
	limits := af.limits()
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	rdb, ks := pool.get(rf.RedisURL), string(rf.keyspace("api"))
	return api.New(api.Config{MaxBodyBytes: af.MaxBodyBytes, RequestTimeout: af.APIRequestTimeout, Auth: auth, Admission: admission,
		Limits: limits, MaxAwaitingApproval: af.MaxAwaitingApproval}, api.Deps{
		Sagas:          sagas,
		Backlog:        backlog,
		Limiter:        ratelimit.New(rdb, ks+"ratelimit:"),
		Shares:         fairshare.New(rdb, ks+"admitted:", fairshare.Config{}),
		Approvals:      sagas,
		Idempotency:    idempotency.NewStore(rdb, ks+"idempotency:", af.IdempotencyRetention, idempotency.DefaultLease),
		Stock:          svc.inventory,
		Orders:         svc.order,
		Reservations:   svc.inventory,
		Payments:       svc.payment,
		Timeline:       newTimeline(rf, pool),
		Checks:         checks,
		Metrics:        metricsHandler(reg),
		RequestMetrics: api.NewRequestMetrics(reg),
		Log:            log,
	}), nil
}

// startBacklog samples, in bg, the backlog of the task queues the saga's
// tasks wait in — the orchestrator's workflow tasks and each service's
// activity tasks — for admission control, and serves the last sample as
// the gauge ordersaga_saga_backlog_age_seconds. It returns nil (admission
// control off) when the bound is 0.
func startBacklog(bg *background, c client.Client, namespace string, af AdmissionFlags, reg *prometheus.Registry, log *slog.Logger) (api.Backlog, error) {
	if af.AdmissionMaxBacklogAge <= 0 {
		return nil, nil
	}
	queues := []backlog.Queue{{Name: workflows.TaskQueueOrchestrator, Type: enumspb.TASK_QUEUE_TYPE_WORKFLOW, Service: workers.Orchestrator},
		{Name: workflows.TaskQueueOrder, Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY, Service: workers.Order},
		{Name: workflows.TaskQueueInventory, Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY, Service: workers.Inventory},
		{Name: workflows.TaskQueuePayment, Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY, Service: workers.Payment}}
	s, err := backlog.New(c.WorkflowService(), backlog.Config{Namespace: namespace, Queues: queues, Interval: af.AdmissionSampleInterval,
		MissingAfter: af.AdmissionMissingAfter}, log)
	if err != nil {
		return nil, err
	}
	reg.MustRegister(s.Collector()) // ordersaga_service_workers_missing{service}
	reg.MustRegister(backlogGauge{s: s, desc: prometheus.NewDesc("ordersaga_saga_backlog_age_seconds",
		"Age of the oldest saga task waiting for a worker that is there (orchestrator workflow tasks, the services' activity tasks; a queue without workers counts in ordersaga_service_workers_missing instead), as admission control last sampled it; absent while unknown.",
		nil, nil)})
	bg.Go(s.Run, log, "backlog sampler")
	return s, nil
}

// temporalCheck is the readiness check of Temporal.
func temporalCheck(c client.Client) servicehttp.Check {
	return servicehttp.Check{Name: "temporal", Fn: temporalclient.Reachable(c)}
}

// backlogGauge is ordersaga_saga_backlog_age_seconds. While the age is
// unknown (no recent sample: Temporal does not answer) the scrape leaves it
// out rather than report a healthy 0.
type backlogGauge struct {
	s    api.Backlog
	desc *prometheus.Desc
}

func (g backlogGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g backlogGauge) Collect(ch chan<- prometheus.Metric) {
	if age, ok := g.s.BacklogAge(); ok {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, age.Seconds())
	}
}
