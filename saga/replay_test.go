package saga_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

func tripHistories(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded trip histories (go test -tags recordhistories -run TestRecordTripHistories ./saga)")
	return files
}

func replayer(t *testing.T, wf any) worker.WorkflowReplayer {
	t.Helper()
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: tripWorkflow})
	return r
}

// TestTripHistoriesReplay replays the trip saga's histories, recorded on a
// real Temporal server (record_test.go), with the current engine: a change
// to the engine that breaks a running saga fails here.
func TestTripHistoriesReplay(t *testing.T) {
	r := replayer(t, BookTrip)
	for _, f := range tripHistories(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f))
		})
	}
}

// TestTripRevisionGuardsItsTable proves why a table change is a new
// revision: running a revision-0 saga with the revision-1 table (the hotel
// booked with the flight) does not replay its history.
func TestTripRevisionGuardsItsTable(t *testing.T) {
	r := replayer(t, func(ctx workflow.Context, req TripRequest) (Trip, error) {
		return saga.Run(ctx, tripDefinition(1, req.RetryEvery), &Trip{TripID: req.TripID, req: req})
	})
	err := r.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata", "histories", "booked-rev0.json"))
	require.ErrorContains(t, err, "[TMPRL1100]", "a non-determinism error")
}
