package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/fairshare"
	"github.com/ordersaga/ordersaga/api/idempotency"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// awaitingSagas are fakeSagas that can also wait for a step's outcome: the
// outcome is answer's.
type awaitingSagas struct {
	*fakeSagas
	answer func(in workflows.Input) (sagaclient.Awaited, error)

	mu    sync.Mutex
	waits []awaitCall
}

type awaitCall struct {
	in       workflows.Input
	step     string
	wait     time.Duration
	deadline time.Duration // of ctx, from the call
}

func (a *awaitingSagas) StartAwait(ctx context.Context, in workflows.Input, step string, wait time.Duration) (sagaclient.Awaited, error) {
	dl, _ := ctx.Deadline()
	a.mu.Lock()
	a.waits = append(a.waits, awaitCall{in: in, step: step, wait: wait, deadline: time.Until(dl)})
	a.mu.Unlock()
	return a.answer(in)
}

func (a *awaitingSagas) calls() []awaitCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]awaitCall(nil), a.waits...)
}

func newAwaitingAPI(cfg api.Config, sagas api.Sagas) http.Handler {
	return api.New(cfg, api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{},
		Payments: noParts{}, Timeline: fakeTimeline{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// decided is a decided wait on a saga in status whose reservation is in
// reserve, with lastErr, and failure as the saga's failure reason.
func decided(status workflows.Status, reserve workflows.StepStatus, lastErr, failure string) func(workflows.Input) (sagaclient.Awaited, error) {
	return func(in workflows.Input) (sagaclient.Awaited, error) {
		st := workflows.State{OrderID: in.OrderID}
		st.Status, st.FailureReason = status, failure
		st.Steps = []workflows.StepState{
			{Name: workflows.StepCreateOrder, Status: workflows.StepCompleted},
			{Name: workflows.StepReserveInventory, Status: reserve, LastError: lastErr},
		}
		return sagaclient.Awaited{Decided: true, State: st}, nil
	}
}

const twoLineOrder = `{"customer_id":"c-1","items":[{"sku":"widget","quantity":2},{"sku":"gadget","quantity":9}],"payment_token":"tok_ok"}`

// TestPreferWaitAnswersAtTheReservation ensures an order placed with
// Prefer: wait answers its reservation's outcome — 201 with the order's
// status, a refusal as its problem naming the line, 202 when the wait ran
// out — each with Location and Preference-Applied, all as the contract
// says; a failure to start is the usual problem, without
// Preference-Applied.
func TestPreferWaitAnswersAtTheReservation(t *testing.T) {
	t.Parallel()
	short := `out of stock: sku "gadget" has 3 available, 9 requested`
	held := `hold limit: the client holds 2 of sku "gadget"'s 10 unsold units and asks 9 more; a client may hold at most 5 (50%) until its orders complete`
	tests := map[string]struct {
		answer      func(workflows.Input) (sagaclient.Awaited, error)
		status      int
		orderStatus string
		code, field string
		failure     string
	}{
		"reserved":          {answer: decided(workflows.StatusRunning, workflows.StepCompleted, "", ""), status: 201, orderStatus: "RESERVED"},
		"awaiting approval": {answer: decided(workflows.StatusAwaitingApproval, workflows.StepCompleted, "", ""), status: 201, orderStatus: "AWAITING_APPROVAL"},
		"completed":         {answer: decided(workflows.StatusCompleted, workflows.StepCompleted, "", ""), status: 201, orderStatus: "COMPLETED"},
		"declined later": {answer: decided(workflows.StatusCompensated, workflows.StepCompensated, "", "payment declined"),
			status: 201, orderStatus: "COMPENSATED", failure: "payment declined"},
		"another failure of the reservation": {answer: decided(workflows.StatusCompensating, workflows.StepCompensating, "retry budget of 1m ran out", "retry budget of 1m ran out"),
			status: 201, orderStatus: "COMPENSATING", failure: "retry budget of 1m ran out"},
		"out of stock":                {answer: decided(workflows.StatusCompensating, workflows.StepFailed, short, short), status: 409, code: api.CodeOutOfStock, field: "items[1].sku"},
		"out of stock, still running": {answer: decided(workflows.StatusRunning, workflows.StepFailed, short, ""), status: 409, code: api.CodeOutOfStock, field: "items[1].sku"},
		"out of stock, reason only":   {answer: decided(workflows.StatusCompensated, workflows.StepFailed, "", short), status: 409, code: api.CodeOutOfStock, field: "items[1].sku"},
		"hold limit":                  {answer: decided(workflows.StatusCompensating, workflows.StepCompensating, held, held), status: 409, code: api.CodeHoldLimit, field: "items[1].sku"},
		"unknown sku":                 {answer: decided(workflows.StatusCompensating, workflows.StepFailed, `unknown sku "widget"`, `unknown sku "widget"`), status: 422, code: api.CodeUnknownSKU, field: "items[0].sku"},
		"wait ran out":                {answer: func(workflows.Input) (sagaclient.Awaited, error) { return sagaclient.Awaited{}, nil }, status: 202, orderStatus: "RUNNING"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sagas := &awaitingSagas{fakeSagas: &fakeSagas{}, answer: tc.answer}
			rec, p := send(t, newAwaitingAPI(api.Config{MaxBodyBytes: 1024}, sagas), "POST", "/v1/orders", twoLineOrder, "Prefer", "wait=5")
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			calls := sagas.calls()
			require.Len(t, calls, 1)
			require.Empty(t, sagas.started, "the order starts through StartAwait alone")
			require.Equal(t, workflows.StepReserveInventory, calls[0].step)
			require.Equal(t, []ordersaga.Item{{SKU: "widget", Quantity: 2}, {SKU: "gadget", Quantity: 9}}, calls[0].in.Items)
			require.Equal(t, "/v1/orders/"+calls[0].in.OrderID, rec.Header().Get("Location"))
			require.Equal(t, "wait=5", rec.Header().Get(api.PreferenceAppliedHeader))
			if tc.code != "" {
				require.Equal(t, tc.code, p.Code)
				require.Equal(t, tc.field, p.Field)
				require.Contains(t, p.Detail, "sku")
				return
			}
			var out api.OrderPlaced
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			require.Equal(t, calls[0].in.OrderID, out.OrderID)
			require.Equal(t, tc.orderStatus, out.Status)
			require.Equal(t, tc.failure, out.FailureReason)
		})
	}
	t.Run("unavailable", func(t *testing.T) {
		t.Parallel()
		sagas := &awaitingSagas{fakeSagas: &fakeSagas{}, answer: func(workflows.Input) (sagaclient.Awaited, error) {
			return sagaclient.Awaited{}, &ordersaga.Error{Code: ordersaga.EUNAVAILABLE, Message: "temporal is unavailable"}
		}}
		rec, _ := send(t, newAwaitingAPI(api.Config{}, sagas), "POST", "/v1/orders", validOrder, "Prefer", "wait=5")
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Empty(t, rec.Header().Get(api.PreferenceAppliedHeader))
		require.Empty(t, rec.Header().Get("Location"))
	})
}

// TestPreferWaitBounds ensures the wait honoured is the one asked for, up to
// 10s (and says so), that the request may run that long even past the
// request timeout, and that a malformed, zero or absent preference — or
// sagas that cannot wait — place the order as without one: 202, no
// Preference-Applied.
func TestPreferWaitBounds(t *testing.T) {
	t.Parallel()
	reserved := decided(workflows.StatusRunning, workflows.StepCompleted, "", "")
	for _, tc := range []struct {
		prefer, applied string
		wait            time.Duration
	}{
		{"wait=1", "wait=1", time.Second},
		{"respond-async, wait=3", "wait=3", 3 * time.Second},
		{"wait=600", "wait=10", 10 * time.Second},
	} {
		sagas := &awaitingSagas{fakeSagas: &fakeSagas{}, answer: reserved}
		rec, _ := send(t, newAwaitingAPI(api.Config{RequestTimeout: 2 * time.Second}, sagas), "POST", "/v1/orders", validOrder, "Prefer", tc.prefer)
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		require.Equal(t, tc.applied, rec.Header().Get(api.PreferenceAppliedHeader))
		c := sagas.calls()[0]
		require.InDelta(t, tc.wait-100*time.Millisecond, c.wait, float64(50*time.Millisecond), "the wait ends a moment before the preference")
		require.InDelta(t, max(2*time.Second, tc.wait), c.deadline, float64(50*time.Millisecond), "the request runs for the wait, or its timeout")
	}
	for _, prefer := range []string{"", "wait=0", "wait=soon", "wait=-3", "respond-async"} {
		sagas := &awaitingSagas{fakeSagas: &fakeSagas{}, answer: reserved}
		rec, _ := send(t, newAwaitingAPI(api.Config{}, sagas), "POST", "/v1/orders", validOrder, "Prefer", prefer)
		require.Equal(t, http.StatusAccepted, rec.Code, "%q: %s", prefer, rec.Body.String())
		require.Empty(t, rec.Header().Get(api.PreferenceAppliedHeader), prefer)
		require.Empty(t, sagas.calls(), prefer)
		require.Len(t, sagas.started, 1, prefer)
	}
	plain := &fakeSagas{}
	rec, _ := send(t, newAPI(plain), "POST", "/v1/orders", validOrder, "Prefer", "wait=5")
	require.Equal(t, http.StatusAccepted, rec.Code, "sagas that cannot wait ignore the preference")
	require.Empty(t, rec.Header().Get(api.PreferenceAppliedHeader))
	require.Len(t, plain.started, 1)
}

// TestPreferWaitIsIdempotent ensures a retry with the same Idempotency-Key
// answers what the first request answered — a 201, or a 409 out_of_stock,
// with its Location and Preference-Applied, whatever its own preference —
// without waiting on the saga again; and that a first attempt whose
// record was lost waits on the same order ID.
func TestPreferWaitIsIdempotent(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	store := idempotency.NewStore(rdb, prefix+"idem:", time.Hour, time.Minute)
	short := `out of stock: sku "widget" has 1 available, 2 requested`
	for name, answer := range map[string]func(workflows.Input) (sagaclient.Awaited, error){
		"201": decided(workflows.StatusRunning, workflows.StepCompleted, "", ""),
		"409": decided(workflows.StatusCompensating, workflows.StepFailed, short, short),
	} {
		sagas := &awaitingSagas{fakeSagas: &fakeSagas{}, answer: answer}
		h := api.New(api.Config{}, api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{},
			Payments: noParts{}, Timeline: fakeTimeline{}, Idempotency: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		key := "key-" + name
		first, _ := send(t, h, "POST", "/v1/orders", validOrder, "Prefer", "wait=4", api.IdempotencyKeyHeader, key)
		again, _ := send(t, h, "POST", "/v1/orders", validOrder, api.IdempotencyKeyHeader, key)
		require.Equal(t, name, strconv.Itoa(first.Code))
		require.Equal(t, first.Code, again.Code, name)
		require.JSONEq(t, first.Body.String(), again.Body.String(), name)
		require.Equal(t, "true", again.Header().Get("Idempotent-Replayed"), name)
		for _, hd := range []string{"Location", api.PreferenceAppliedHeader, "Content-Type"} {
			require.Equal(t, first.Header().Get(hd), again.Header().Get(hd), "%s: %s", name, hd)
		}
		require.Len(t, sagas.calls(), 1, "%s: the retry is answered from the record", name)

		// The record lost: a retry waits on the same order ID.
		require.NoError(t, redislua.DeletePrefix(context.Background(), rdb, prefix+"idem:"))
		lost, _ := send(t, h, "POST", "/v1/orders", validOrder, "Prefer", "wait=4", api.IdempotencyKeyHeader, key)
		require.Equal(t, first.Code, lost.Code, name)
		calls := sagas.calls()
		require.Len(t, calls, 2, name)
		require.Equal(t, calls[0].in.OrderID, calls[1].in.OrderID, name)
	}
}

// TestPreferWaitCountsAdmittedOrders ensures the orders answered at their
// reservation (201, or a refusal naming the order) count to the client's
// fair share, as accepted ones (202) do.
func TestPreferWaitCountsAdmittedOrders(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	shares := fairshare.New(rdb, prefix+"admitted:", fairshare.Config{})
	short := `out of stock: sku "widget" has 1 available, 2 requested`
	b := &fakeBacklog{}
	b.set(0, true)
	for i, answer := range []func(workflows.Input) (sagaclient.Awaited, error){
		decided(workflows.StatusRunning, workflows.StepCompleted, "", ""),
		decided(workflows.StatusCompensating, workflows.StepFailed, short, short),
		func(workflows.Input) (sagaclient.Awaited, error) { return sagaclient.Awaited{}, nil },
	} {
		sagas := &awaitingSagas{fakeSagas: &fakeSagas{}, answer: answer}
		h := api.New(api.Config{Admission: api.Admission{MaxBacklogAge: time.Second}}, api.Deps{Sagas: sagas, Stock: fakeStock{},
			Orders: noParts{}, Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{}, Backlog: b, Shares: shares,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		rec, _ := send(t, h, "POST", "/v1/orders", validOrder, "Prefer", "wait=2")
		require.NotEmpty(t, rec.Header().Get("Location"))
		share, err := shares.Share(context.Background(), "ip:192.0.2.1")
		require.NoError(t, err)
		require.EqualValues(t, i+1, share.Mine, "answer %d", rec.Code)
	}
}
