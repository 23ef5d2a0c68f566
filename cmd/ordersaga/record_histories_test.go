//go:build recordhistories

// Records the saga's histories from real runs on the embedded Temporal
// server, for the replay tests. Not part of the normal test run:
//
//	go tool -modfile=tools/go.mod task histories
//	(= go test -tags recordhistories -run TestRecordHistories ./cmd/ordersaga -histories DIR)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/replay"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

var historiesDir = flag.String("histories", "", "directory to write the recorded histories to")

// failingReleases makes ReleaseInventory fail a number of times for chosen
// reservation keys, to record compensations being retried.
type failingReleases struct {
	inventory.ActivityStore
	mu       sync.Mutex
	failures map[string]int
}

func (f *failingReleases) Release(ctx context.Context, key string) error {
	f.mu.Lock()
	n := f.failures[key]
	if n > 0 {
		f.failures[key] = n - 1
	}
	f.mu.Unlock()
	if n > 0 {
		return fmt.Errorf("injected release failure (%d left)", n-1)
	}
	return f.ActivityStore.Release(ctx, key)
}

func TestRecordHistories(t *testing.T) {
	require.NotEmpty(t, *historiesDir, "-histories DIR is required")
	require.NoError(t, os.MkdirAll(*historiesDir, 0o755))
	ctx := context.Background()
	opts := workflows.Options{ApprovalTimeout: 2 * time.Second, CompensationAlertAttempts: 2, CompensationMaxInterval: time.Second}
	rig := startSagaRig(t, opts, func(inv inventory.ActivityStore) inventory.ActivityStore {
		return &failingReleases{ActivityStore: inv, failures: map[string]int{
			workflows.WorkflowID("compensation-retried") + "/" + workflows.StepReserveInventory:          2,
			workflows.WorkflowID("compensation-failed-recovered") + "/" + workflows.StepReserveInventory: 4,
			workflows.WorkflowID("compensation-operator-retried") + "/" + workflows.StepReserveInventory: 3,
			workflows.WorkflowID("compensation-resolved") + "/" + workflows.StepReserveInventory:         1 << 30,
		}}
	})
	c := rig.client
	sagas := sagaclient.New(c)

	type path struct {
		name  string
		items []ordersaga.Item
		token string
		drive func(t *testing.T, id string) // after start
		want  workflows.Status
		// tight runs the saga on a second stack whose orchestrator has
		// tightBudget (the options are the worker's).
		tight bool
	}
	// A budget shorter than tok_slow's first answer plus the backoff: the
	// payment ends without a definite answer, so the refund (or void) and
	// the stock release run side by side.
	tightBudget := workflows.Options{PaymentRetryBudget: 600 * time.Millisecond, CompensationAlertAttempts: 2,
		CompensationMaxInterval: time.Second}
	var tightRig *sagaRig
	widgets := []ordersaga.Item{{SKU: "widget", Quantity: 2}}
	gizmos := []ordersaga.Item{{SKU: "gizmo", Quantity: 2}}
	awaitStatus := func(t *testing.T, id string, want workflows.Status) {
		require.Eventually(t, func() bool {
			st, err := sagas.State(ctx, id)
			return err == nil && st.Status == want
		}, 20*time.Second, 20*time.Millisecond)
	}
	awaitApproval := func(t *testing.T, id string) { awaitStatus(t, id, workflows.StatusAwaitingApproval) }
	paths := []path{
		{name: "success", items: widgets, token: "tok_ok", want: workflows.StatusCompleted},
		{name: "out-of-stock", items: []ordersaga.Item{{SKU: "last-one", Quantity: 2}}, token: "tok_ok", want: workflows.StatusCompensated},
		{name: "declined", items: widgets, token: "tok_declined", want: workflows.StatusCompensated},
		// Revision 2 on: a declined card above the approval threshold ends
		// before the approval.
		{name: "declined-above-threshold", items: gizmos, token: "tok_declined", want: workflows.StatusCompensated},
		{name: "flaky-payment", items: widgets, token: "tok_flaky", want: workflows.StatusCompleted},
		{name: "slow-payment", items: widgets, token: "tok_slow", want: workflows.StatusCompleted},
		{name: "approval-granted", items: gizmos, token: "tok_ok", want: workflows.StatusCompleted, drive: func(t *testing.T, id string) {
			awaitApproval(t, id)
			require.NoError(t, sagas.Update(ctx, id, "", workflows.UpdateApprove, workflows.ApproveRequest{By: "recorder"}))
		}},
		{name: "approval-timeout", items: gizmos, token: "tok_ok", want: workflows.StatusCancelled},
		{name: "cancel-before-pivot", items: gizmos, token: "tok_ok", want: workflows.StatusCancelled, drive: func(t *testing.T, id string) {
			awaitApproval(t, id)
			require.NoError(t, sagas.Update(ctx, id, "", workflows.UpdateCancel, "changed my mind"))
		}},
		{name: "temporal-cancel", items: gizmos, token: "tok_ok", want: workflows.StatusCancelled, drive: func(t *testing.T, id string) {
			awaitApproval(t, id)
			require.NoError(t, c.CancelWorkflow(ctx, workflows.WorkflowID(id), ""))
		}},
		{name: "compensation-retried", items: widgets, token: "tok_declined", want: workflows.StatusCompensated},
		{name: "compensation-failed-recovered", items: widgets, token: "tok_declined", want: workflows.StatusCompensated},
		{name: "payment-budget-exhausted", items: widgets, token: "tok_slow", want: workflows.StatusCompensated, tight: true},
		{name: "compensation-operator-retried", items: widgets, token: "tok_declined", want: workflows.StatusCompensated,
			drive: func(t *testing.T, id string) {
				awaitStatus(t, id, workflows.StatusFailed)
				require.NoError(t, sagas.Update(ctx, id, "retry-1", workflows.UpdateRetryCompensation,
					workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "recorder"}))
			}},
		{name: "compensation-resolved", items: widgets, token: "tok_declined", want: workflows.StatusCompensated,
			drive: func(t *testing.T, id string) {
				awaitStatus(t, id, workflows.StatusFailed)
				require.NoError(t, sagas.Update(ctx, id, "resolve-1", workflows.UpdateResolveCompensation,
					workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "recorder", Reason: "released by hand"}))
			}},
	}
	outer := t // the second stack lives as long as the test
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			id := p.name
			starter, c := sagas, c
			if p.tight {
				if tightRig == nil {
					r := startSagaRig(outer, tightBudget, nil)
					tightRig = &r
				}
				c = tightRig.client
				starter = sagaclient.New(c)
			}
			require.NoError(t, starter.Start(ctx, workflows.Input{OrderID: id, ClientID: "recorder", CustomerID: "cust-1", Items: p.items, PaymentToken: p.token}))
			if p.drive != nil {
				p.drive(t, id)
			}
			run := c.GetWorkflow(ctx, workflows.WorkflowID(id), "")
			_ = run.Get(ctx, nil) // canceled runs return an error
			st, err := starter.State(ctx, id)
			require.NoError(t, err)
			require.Equal(t, p.want, st.Status)
			h, err := replay.Fetch(ctx, c, workflows.WorkflowID(id), "")
			require.NoError(t, err)
			f, err := os.Create(filepath.Join(*historiesDir, p.name+".json"))
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, replay.WriteJSON(f, h))
			t.Logf("recorded %s: %d events, status %s", p.name, len(h.Events), st.Status)
		})
	}
}
