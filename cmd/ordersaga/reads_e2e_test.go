//go:build !slim

package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/internal/devserver"
	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/payment/paymentsim"
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// sagaRig is an embedded Temporal server with every service's workers, on
// a real Redis, and the catalog stocked: sagas run end to end, and the test
// holds the workers to stop them.
type sagaRig struct {
	client  client.Client
	workers *workers.Group
}

// startSagaRig starts the rig; inventory, if set, wraps the inventory store
// the activities use. Everything stops when the test ends.
func startSagaRig(t *testing.T, opts workflows.Options, inventoryStore func(inventory.ActivityStore) inventory.ActivityStore) sagaRig {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb, prefix := redistest.New(t)
	srv, err := devserver.Start(devserver.Config{UIPort: -1, SearchAttributes: workflows.SearchAttributes(), Logger: log, FrontendPort: 0})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	c, err := temporalclient.Dial(ctx, temporalclient.Config{Connection: temporalclient.Connection{Address: srv.FrontendAddress(), Namespace: "default", Plain: true}}, log, 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	require.NoError(t, temporalclient.CheckSearchAttributes(ctx, c, "default", workflows.SearchAttributes()))

	sim := httptest.NewServer(paymentsim.New(rdb, paymentsim.Config{Keyspace: prefix + "{paymentsim}:", SlowDelay: time.Second}, log).Handler())
	t.Cleanup(sim.Close)
	// Every service of the catalog, as a worker process opens them.
	rf := RedisFlags{CommonRedisFlags: CommonRedisFlags{RedisURL: redistest.URL(), RedisKeyPrefix: prefix}}
	pool, err := openRedis(ctx, rf.RedisURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	opened, err := openServices(ctx, serviceNames(), rf, pool, serviceEnv{providerURL: sim.URL,
		PaymentClientFlags: PaymentClientFlags{PaymentTimeout: 300 * time.Millisecond}, log: log})
	require.NoError(t, err)
	inv := inventory.NewStore(rdb, rf.keyspace("inventory"))
	for _, s := range []ordersaga.Stock{{SKU: "widget", Available: 1000, PriceCents: 2500}, {SKU: "gizmo", Available: 100, PriceCents: 60000},
		{SKU: "last-one", Available: 1, PriceCents: 5000}} {
		_, err := inv.Put(ctx, s.SKU, s.Available, s.PriceCents)
		require.NoError(t, err)
	}
	for _, h := range opened {
		if acts, ok := h.activities.(*inventory.Activities); ok && inventoryStore != nil {
			acts.Store = inventoryStore(acts.Store)
		}
	}
	hosted := workerServices(serviceNames(), opened)
	group, err := startWorkers(c, hosted, workers.Single, opts, WorkerFlags{ShutdownTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(group.Stop)
	return sagaRig{client: c, workers: group}
}

// TestFinishedOrdersReadWithWorkersStopped ends sagas on every path, stops
// every worker, and reads them through a freshly started API: a finished
// saga's state comes from its close event, so no worker is needed — a
// Temporal-cancelled one included. A running saga's state still needs the
// orchestrator's workers: it answers 503 in the request timeout.
func TestFinishedOrdersReadWithWorkersStopped(t *testing.T) {
	ctx := context.Background()
	rig := startSagaRig(t, workflows.Options{}, nil)
	sagas := sagaclient.New(rig.client)
	widgets, gizmos := []ordersaga.Item{{SKU: "widget", Quantity: 2}}, []ordersaga.Item{{SKU: "gizmo", Quantity: 2}}
	start := func(id string, items []ordersaga.Item, token string) {
		require.NoError(t, sagas.Start(ctx, workflows.Input{OrderID: id, ClientID: "shop", CustomerID: "cust-1", Items: items, PaymentToken: token}))
	}
	awaitStatus := func(id string, want workflows.Status) {
		require.Eventually(t, func() bool {
			st, err := sagas.State(ctx, id)
			return err == nil && st.Status == want
		}, 20*time.Second, 20*time.Millisecond, "%s never reached %s", id, want)
	}
	start("completed", widgets, "tok_ok")
	start("compensated", widgets, "tok_declined")
	start("cancelled", gizmos, "tok_ok")
	start("temporal-cancelled", gizmos, "tok_ok")
	start("awaiting", gizmos, "tok_ok")
	for _, id := range []string{"cancelled", "temporal-cancelled", "awaiting"} {
		awaitStatus(id, workflows.StatusAwaitingApproval)
	}
	require.NoError(t, sagas.Update(ctx, "cancelled", "", workflows.UpdateCancel, "changed my mind"))
	require.NoError(t, rig.client.CancelWorkflow(ctx, workflows.WorkflowID("temporal-cancelled"), ""))
	want := map[string]workflows.Status{"completed": workflows.StatusCompleted, "compensated": workflows.StatusCompensated,
		"cancelled": workflows.StatusCancelled, "temporal-cancelled": workflows.StatusCancelled}
	for id, status := range want {
		_ = rig.client.GetWorkflow(ctx, workflows.WorkflowID(id), "").Get(ctx, nil) // canceled runs return an error
		awaitStatus(id, status)
	}

	rig.workers.Stop()
	// The services are down too: their parts are unavailable, the saga's
	// state is still read.
	down, err := newServiceClients(sameURL("http://127.0.0.1:1"), "", GatewayFlags{ServiceTimeout: 100 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	down.Sagas, down.Log = sagaclient.New(rig.client), slog.New(slog.NewTextHandler(io.Discard, nil))
	h := api.New(api.Config{RequestTimeout: 2 * time.Second}, down)
	get := func(id string) (int, workflows.State, time.Duration) {
		begin := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/orders/"+id, nil))
		var st workflows.State
		if rec.Code == http.StatusOK {
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
		}
		return rec.Code, st, time.Since(begin)
	}
	for id, status := range want {
		code, st, took := get(id)
		require.Equal(t, http.StatusOK, code, id)
		require.Equal(t, status, st.Status, id)
		require.Equal(t, "shop", st.ClientID, id)
		require.Less(t, took, time.Second, "%s: read without waiting for a worker", id)
	}
	_, st, _ := get("temporal-cancelled")
	require.Equal(t, "workflow cancelled", st.FailureReason)
	for _, step := range st.Steps {
		if step.Name == workflows.StepReserveInventory {
			require.Equal(t, workflows.StepCompensated, step.Status, "the close event holds the whole final state")
		}
	}
	code, _, _ := get("awaiting")
	require.Equal(t, http.StatusServiceUnavailable, code, "a running saga is queried, and no worker answers")
}
