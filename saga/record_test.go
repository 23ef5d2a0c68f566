//go:build recordhistories

// Records the trip saga's histories from real runs on the embedded Temporal
// server, for the replay test. Not part of the normal test run:
//
//	go test -tags recordhistories -run TestRecordTripHistories ./saga
package saga_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/internal/devserver"
	"github.com/ordersaga/ordersaga/internal/replay"
	"github.com/ordersaga/ordersaga/saga"
)

func TestRecordTripHistories(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devserver.Start(devserver.Config{UIPort: -1, FrontendPort: 0, Logger: log})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress()})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	a := &agency{}
	w := worker.New(c, tripQueue, worker.Options{Interceptors: []interceptor.WorkerInterceptor{saga.AttemptInterceptor()}})
	w.RegisterWorkflowWithOptions(BookTrip, workflow.RegisterOptions{Name: tripWorkflow})
	w.RegisterActivity(a)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	awaitStatus := func(t *testing.T, id string, want saga.Status) {
		require.Eventually(t, func() bool {
			v, err := c.QueryWorkflow(ctx, id, "", saga.QueryState)
			var trip Trip
			return err == nil && v.Get(&trip) == nil && trip.Status == want
		}, 20*time.Second, 20*time.Millisecond)
	}
	update := func(t *testing.T, id, name string, arg any) {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
		require.NoError(t, err)
		require.NoError(t, h.Get(ctx, nil))
	}
	paths := []struct {
		name  string
		req   TripRequest
		setup func()
		drive func(t *testing.T, id string)
		want  saga.Status
	}{
		{name: "booked", req: TripRequest{Nights: 2, Card: "visa", Revision: 1}, want: saga.StatusCompleted},
		{name: "booked-rev0", req: TripRequest{Nights: 2, Card: "visa"}, want: saga.StatusCompleted},
		{name: "no-rooms", req: TripRequest{Nights: 2, Card: "visa", Revision: 1}, want: saga.StatusCompensated,
			setup: func() { a.noRooms = true }},
		{name: "cancelled-at-gate", req: TripRequest{Nights: 5, Card: "visa", Revision: 1}, want: saga.StatusCancelled,
			setup: func() { a.noRooms = false },
			drive: func(t *testing.T, id string) {
				awaitStatus(t, id, statusApproval)
				update(t, id, saga.UpdateCancel, "plans changed")
			}},
		{name: "approved", req: TripRequest{Traveller: "ann", Nights: 5, Card: "visa", Revision: 1}, want: saga.StatusCompleted,
			drive: func(t *testing.T, id string) {
				awaitStatus(t, id, statusApproval)
				update(t, id, updateApprove, ApproveRequest{By: "boss"})
			}},
		{name: "compensation-operator-retried", req: TripRequest{Nights: 1, Card: "declined", Revision: 1, RetryEvery: time.Minute},
			want: saga.StatusCompensated, setup: func() { a.setFailCancel(-1) },
			drive: func(t *testing.T, id string) {
				awaitStatus(t, id, saga.StatusFailed)
				a.setFailCancel(0)
				update(t, id, saga.UpdateRetryCompensation, saga.CompensationRequest{Step: "book_flight", By: "ops"})
			}},
	}
	dir := filepath.Join("testdata", "histories")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			if p.setup != nil {
				p.setup()
			}
			p.req.TripID = p.name
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: p.name, TaskQueue: tripQueue}, tripWorkflow, p.req)
			require.NoError(t, err)
			if p.drive != nil {
				p.drive(t, p.name)
			}
			var trip Trip
			require.NoError(t, run.Get(ctx, &trip))
			require.Equal(t, p.want, trip.Status)
			h, err := replay.Fetch(ctx, c, p.name, "")
			require.NoError(t, err)
			f, err := os.Create(filepath.Join(dir, p.name+".json"))
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, replay.WriteJSON(f, h))
			t.Logf("recorded %s: %d events", p.name, len(h.Events))
		})
	}
}
