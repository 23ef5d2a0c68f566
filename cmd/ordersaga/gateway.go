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
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// newAPI builds the gateway on a Temporal client, the services' APIs, and
// the gateway's own Redis keyspaces: its idempotency records and the
// timeline. It serves reg's metrics, with its own and the sagas needing
// attention. auth is the API's access control, checked by the caller before
// anything starts (APIFlags.auth). Admission control reads backlog (nil:
// off; see startBacklog). With a routes file it stands in front of a
// monolith, reloading the file on SIGHUP in bg (strangler.go).
func newAPI(c client.Client, rf CommonRedisFlags, pool *redisPool, svc api.Deps, af APIFlags, auth api.Auth, cf CodecFlags, reg *prometheus.Registry, backlog api.Backlog, bg *background, log *slog.Logger) (http.Handler, error) {
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
	front, err := af.front(bg, reg, log)
	if err != nil {
		return nil, err
	}
	rdb, ks := pool.get(rf.RedisURL), rf.prefix("api")
	d := svc // the services' clients (newServiceClients)
	d.Sagas, d.Backlog, d.Approvals, d.Front = sagas, backlog, sagas, front
	d.Limiter = ratelimit.New(rdb, ks+"ratelimit:")
	d.Shares = fairshare.New(rdb, ks+"admitted:", fairshare.Config{})
	d.Idempotency = idempotency.NewStore(rdb, ks+"idempotency:", af.IdempotencyRetention, idempotency.DefaultLease)
	d.Timeline, d.Checks, d.Log = newTimeline(rf, pool), checks, log
	d.Metrics, d.RequestMetrics = metricsHandler(reg), api.NewRequestMetrics(reg)
	return api.New(api.Config{MaxBodyBytes: af.MaxBodyBytes, RequestTimeout: af.APIRequestTimeout, Auth: auth, Admission: admission,
		Limits: limits, MaxAwaitingApproval: af.MaxAwaitingApproval}, d), nil
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
	queues := []backlog.Queue{{Name: workflows.TaskQueueOrchestrator, Type: enumspb.TASK_QUEUE_TYPE_WORKFLOW, Service: workers.Orchestrator}}
	for _, s := range catalog {
		queues = append(queues, backlog.Queue{Name: s.queue, Type: enumspb.TASK_QUEUE_TYPE_ACTIVITY, Service: s.name})
	}
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
