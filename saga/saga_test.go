package saga_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

// tripEnv runs BookTrip in Temporal's test environment against a.
type tripEnv struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	a   *agency
	n   int
}

func newTripEnv(t *testing.T, a *agency) *tripEnv {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{saga.AttemptInterceptor()}})
	env.RegisterWorkflowWithOptions(BookTrip, workflow.RegisterOptions{Name: tripWorkflow})
	env.RegisterActivity(a)
	env.SetTestTimeout(30 * time.Second)
	return &tripEnv{t: t, env: env, a: a}
}

func (e *tripEnv) run(req TripRequest) (Trip, error) {
	e.t.Helper()
	if req.Revision == 0 {
		req.Revision = 1
	}
	e.env.ExecuteWorkflow(tripWorkflow, req)
	require.True(e.t, e.env.IsWorkflowCompleted())
	var trip Trip
	err := e.env.GetWorkflowError()
	if err == nil {
		require.NoError(e.t, e.env.GetWorkflowResult(&trip))
	} else {
		trip = e.query()
	}
	return trip, err
}

func (e *tripEnv) query() Trip {
	e.t.Helper()
	v, err := e.env.QueryWorkflow(saga.QueryState)
	require.NoError(e.t, err)
	var trip Trip
	require.NoError(e.t, v.Get(&trip))
	return trip
}

type updateResult struct {
	accepted bool
	rejected error
}

// update sends an update after delay and records whether it was accepted.
func (e *tripEnv) update(delay time.Duration, name string, arg any) *updateResult {
	r := &updateResult{}
	e.n++
	id := name + "-" + string(rune('a'+e.n))
	e.env.RegisterDelayedCallback(func() {
		e.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept:   func() { r.accepted = true },
			OnReject:   func(err error) { r.rejected = err },
			OnComplete: func(any, error) {},
		}, arg)
	}, delay)
	return r
}

func stepOf(trip Trip, name string) saga.StepState {
	if st := trip.Step(name); st != nil {
		return *st
	}
	return saga.StepState{}
}

func TestTripBooked(t *testing.T) {
	a := &agency{}
	e := newTripEnv(t, a)
	trip, err := e.run(TripRequest{TripID: "t1", Traveller: "ann", Nights: 2, Card: "visa"})
	require.NoError(t, err)
	require.Equal(t, saga.StatusCompleted, trip.Status)
	require.Equal(t, int64(70000), trip.PriceCents, "both bookings' results were recorded")
	require.Equal(t, "FL-t1", trip.FlightRef)
	require.Equal(t, "HT-t1", trip.HotelRef)
	require.Equal(t, "PAY-default-test-workflow-id/charge_card", trip.PaymentRef, "the pivot's key is <workflow id>/<step>")
	require.Equal(t, saga.StepSkipped, stepOf(trip, "approval").Status, "under the limit: no approval")
	for _, name := range []string{"book_flight", "book_hotel", "charge_card", "send_itinerary"} {
		st := stepOf(trip, name)
		require.Equal(t, saga.StepCompleted, st.Status, name)
		require.Equal(t, int32(1), st.Attempts, name)
	}
	require.ElementsMatch(t, []string{"BookFlight", "BookHotel"}, a.called()[:2], "flight and hotel start together")
}

// A business failure undoes what was done, not what failed: the flight is
// cancelled, the hotel (which refused) is not.
func TestTripBusinessFailureCompensates(t *testing.T) {
	a := &agency{noRooms: true}
	e := newTripEnv(t, a)
	trip, err := e.run(TripRequest{TripID: "t2", Traveller: "ann", Nights: 2, Card: "visa"})
	require.NoError(t, err, "a compensated saga ends normally")
	require.Equal(t, saga.StatusCompensated, trip.Status)
	require.Equal(t, "no rooms left", trip.FailureReason)
	require.Equal(t, saga.StepCompensated, stepOf(trip, "book_flight").Status)
	require.Equal(t, saga.StepFailed, stepOf(trip, "book_hotel").Status)
	require.Equal(t, int32(1), stepOf(trip, "book_hotel").Attempts, "the interceptor recorded the failing attempt")
	require.Equal(t, errNoRooms, stepOf(trip, "book_hotel").ErrorType)
	require.Contains(t, a.called(), "CancelFlight")
	require.NotContains(t, a.called(), "CancelHotel")
	require.NotContains(t, a.called(), "Charge")
}

// A declined card (the pivot's business failure) compensates the bookings
// in reverse order; the charge itself had no effect.
func TestTripDeclinedCompensatesBookings(t *testing.T) {
	a := &agency{}
	e := newTripEnv(t, a)
	trip, err := e.run(TripRequest{TripID: "t3", Traveller: "ann", Nights: 1, Card: "declined"})
	require.NoError(t, err)
	require.Equal(t, saga.StatusCompensated, trip.Status)
	require.ElementsMatch(t, []string{"CancelFlight", "CancelHotel"}, a.called()[3:])
	require.NotContains(t, a.called(), "Refund")
}

// A cancel while the saga waits at its gate compensates it; the same update
// is refused once the pivot has started.
func TestTripCancel(t *testing.T) {
	a := &agency{}
	e := newTripEnv(t, a)
	cancel := e.update(time.Minute, saga.UpdateCancel, "plans changed")
	trip, err := e.run(TripRequest{TripID: "t4", Traveller: "ann", Nights: 5, Card: "visa"})
	require.NoError(t, err)
	require.True(t, cancel.accepted, "cancel rejected: %v", cancel.rejected)
	require.Equal(t, saga.StatusCancelled, trip.Status)
	require.Equal(t, "plans changed", trip.FailureReason)
	require.Equal(t, saga.StepFailed, stepOf(trip, "approval").Status)
	require.ElementsMatch(t, []string{"CancelFlight", "CancelHotel"}, a.called()[2:])

	a = &agency{}
	e = newTripEnv(t, a)
	e.env.OnActivity(a.Charge, mock.Anything, mock.Anything).After(time.Minute).Return(a.Charge)
	approve := e.update(time.Minute, updateApprove, ApproveRequest{By: "boss"})
	late := e.update(time.Minute+30*time.Second, saga.UpdateCancel, "too late")
	trip, err = e.run(TripRequest{TripID: "t5", Traveller: "ann", Nights: 5, Card: "visa"})
	require.NoError(t, err)
	require.True(t, approve.accepted)
	require.ErrorContains(t, late.rejected, "payment has started: the trip can no longer be cancelled")
	require.Equal(t, saga.StatusCompleted, trip.Status)
	require.Equal(t, "boss", trip.ApprovedBy)
}

// A gate refuses an update outside its wait and one its check refuses; it
// cancels the saga when nobody opens it in time.
func TestTripGate(t *testing.T) {
	e := newTripEnv(t, &agency{})
	early := e.update(0, updateApprove, ApproveRequest{By: "boss"})
	self := e.update(time.Minute, updateApprove, ApproveRequest{By: "ann"})
	trip, err := e.run(TripRequest{TripID: "t6", Traveller: "ann", Nights: 5, Card: "visa"})
	require.NoError(t, err)
	require.ErrorContains(t, early.rejected, "trip is RUNNING, not awaiting approval")
	require.ErrorContains(t, self.rejected, "cannot approve their own trip")
	require.Equal(t, saga.StatusCancelled, trip.Status)
	require.Equal(t, "approval timed out after 1h0m0s", trip.FailureReason)
	require.Equal(t, "no approval within 1h0m0s", stepOf(trip, "approval").LastError)
}

// A compensation failing past its alert bound shows the saga FAILED; it
// keeps retrying (hourly here), and an operator's retry skips the wait.
func TestTripStuckCompensationRetriedByOperator(t *testing.T) {
	a := &agency{failCancel: -1}
	e := newTripEnv(t, a)
	var stuck Trip
	e.env.RegisterDelayedCallback(func() {
		stuck = e.query()
		a.setFailCancel(0) // the airline is back
	}, 30*time.Minute)
	retry := e.update(31*time.Minute, saga.UpdateRetryCompensation, saga.CompensationRequest{Step: "book_flight", By: "ops"})
	start := e.env.Now()
	trip, err := e.run(TripRequest{TripID: "t7", Traveller: "ann", Nights: 1, Card: "declined"})
	require.NoError(t, err)
	require.Equal(t, saga.StatusFailed, stuck.Status)
	require.Equal(t, saga.StepCompensating, stepOf(stuck, "book_flight").Status)
	require.Equal(t, "airline unreachable", stepOf(stuck, "book_flight").CompensationError)
	require.Equal(t, saga.StepCompensated, stepOf(stuck, "book_hotel").Status, "an independent compensation is not held back")
	require.True(t, retry.accepted, "retry rejected: %v", retry.rejected)
	require.Equal(t, saga.StatusCompensated, trip.Status)
	require.Equal(t, saga.StepCompensated, stepOf(trip, "book_flight").Status)
	require.Less(t, e.env.Now().Sub(start), time.Hour, "the operator's retry did not wait for the next hourly attempt")
}

// An operator may resolve a compensation by hand: the saga stops retrying
// it and records who, when and why.
func TestTripCompensationResolvedByOperator(t *testing.T) {
	e := newTripEnv(t, &agency{failCancel: -1})
	bad := e.update(20*time.Minute, saga.UpdateResolveCompensation, saga.CompensationRequest{Step: "book_flight", By: "ops"})
	ok := e.update(21*time.Minute, saga.UpdateResolveCompensation,
		saga.CompensationRequest{Step: "book_flight", By: "ops", Reason: "cancelled by phone"})
	trip, err := e.run(TripRequest{TripID: "t8", Traveller: "ann", Nights: 1, Card: "declined"})
	require.NoError(t, err)
	require.ErrorContains(t, bad.rejected, "needs a reason")
	require.True(t, ok.accepted)
	require.Equal(t, saga.StatusCompensated, trip.Status)
	st := stepOf(trip, "book_flight")
	require.Equal(t, saga.StepResolved, st.Status)
	require.Equal(t, "ops", st.Resolution.By)
	require.Equal(t, "cancelled by phone", st.Resolution.Reason)
}

// A Temporal cancellation compensates too, and the workflow ends canceled
// with the final state as its details.
func TestTripTemporalCancellation(t *testing.T) {
	a := &agency{}
	e := newTripEnv(t, a)
	e.env.RegisterDelayedCallback(e.env.CancelWorkflow, time.Minute)
	trip, err := e.run(TripRequest{TripID: "t9", Traveller: "ann", Nights: 5, Card: "visa"})
	require.True(t, temporal.IsCanceledError(err), "got %v", err)
	require.Equal(t, saga.StatusCancelled, trip.Status)
	var canceled *temporal.CanceledError
	require.ErrorAs(t, err, &canceled)
	var recorded Trip
	require.NoError(t, canceled.Details(&recorded))
	want, _ := json.Marshal(trip)
	got, _ := json.Marshal(recorded)
	require.JSONEq(t, string(want), string(got))
	require.True(t, slices.Contains(a.called(), "CancelFlight") && slices.Contains(a.called(), "CancelHotel"))
}

// UpdateAwaitStep answers once the step has an outcome, with the state
// then: the saga goes on meanwhile.
func TestAwaitStep(t *testing.T) {
	e := newTripEnv(t, &agency{})
	var got Trip
	var rejected error
	e.env.RegisterDelayedCallback(func() {
		e.env.UpdateWorkflow(saga.UpdateAwaitStep, "await-1", &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { rejected = err },
			OnComplete: func(v any, err error) { require.NoError(t, err); got = v.(Trip) },
		}, saga.AwaitRequest{Step: "book_hotel"})
		e.env.UpdateWorkflow(saga.UpdateAwaitStep, "await-2", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { require.ErrorContains(t, err, `unknown step "ship"`) },
			OnComplete: func(any, error) {},
		}, saga.AwaitRequest{Step: "ship"})
	}, 0)
	approve := e.update(time.Minute, updateApprove, ApproveRequest{By: "boss"})
	trip, err := e.run(TripRequest{TripID: "t10", Traveller: "ann", Nights: 5, Card: "visa"})
	require.NoError(t, err)
	require.NoError(t, rejected)
	require.True(t, approve.accepted)
	require.Equal(t, saga.StepCompleted, stepOf(got, "book_hotel").Status)
	// Answered at the hotel's outcome, before the approval: the flight may
	// still be running then (the two book in parallel), or the gate opened.
	require.Contains(t, []saga.Status{saga.StatusRunning, statusApproval}, got.Status, "answered at the hotel's outcome, before the approval")
	require.Equal(t, saga.StatusCompleted, trip.Status)
}
