package saga_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

// A trip booking: a saga with nothing to do with orders, to prove the
// engine general. A flight and a hotel are booked together; a trip over the
// approval limit waits for a manager; the card is charged (the pivot); the
// itinerary is sent.

const (
	tripQueue      = "trip"
	tripWorkflow   = "BookTrip"
	updateApprove  = "approve"
	statusApproval = saga.Status("AWAITING_APPROVAL")
	approvalAbove  = 100000
	errNoRooms     = "NoRooms"
	errDeclined    = "Declined"
)

// TripRequest starts a trip saga.
type TripRequest struct {
	TripID    string `json:"trip_id"`
	Traveller string `json:"traveller"`
	Nights    int    `json:"nights"`
	Card      string `json:"card"`
	// Revision chooses the definition (see tripDefinition).
	Revision int `json:"revision"`
	// RetryEvery caps the wait between compensation attempts (default 1h).
	RetryEvery time.Duration `json:"retry_every,omitempty"`
}

// Trip is the saga's state: the engine's Progress and the trip's own data.
type Trip struct {
	saga.Progress
	TripID     string `json:"trip_id"`
	PriceCents int64  `json:"price_cents"`
	FlightRef  string `json:"flight_ref,omitempty"`
	HotelRef   string `json:"hotel_ref,omitempty"`
	PaymentRef string `json:"payment_ref,omitempty"`
	ApprovedBy string `json:"approved_by,omitempty"`

	req TripRequest
}

// Activity inputs and results.
type (
	BookInput struct {
		Key    string `json:"key"`
		TripID string `json:"trip_id"`
		Nights int    `json:"nights"`
	}
	Booking struct {
		Ref        string `json:"ref"`
		PriceCents int64  `json:"price_cents"`
		Attempt    int32  `json:"attempt"`
	}
	RefInput struct {
		Key string `json:"key"`
	}
	PayInput struct {
		Key         string `json:"key"`
		Card        string `json:"card"`
		AmountCents int64  `json:"amount_cents"`
	}
	Done struct {
		Attempt int32 `json:"attempt"`
	}
	ApproveRequest struct {
		By string `json:"by"`
	}
)

var (
	tripRetry = saga.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: time.Second,
		BackoffCoefficient: 2, MaximumAttempts: 3}
	tripForever = saga.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumInterval: time.Second, BackoffCoefficient: 2}
	tripQuick   = saga.Timeouts{StartToClose: 5 * time.Second}
)

func with(p saga.RetryPolicy, nonRetryable ...string) saga.RetryPolicy {
	p.NonRetryableErrorTypes = nonRetryable
	return p
}

// tripDefinition is the trip saga's table. Revision 1 books the hotel with
// the flight; revision 0 booked them one after the other.
func tripDefinition(revision int, retryEvery time.Duration) saga.Definition[Trip] {
	if retryEvery <= 0 {
		retryEvery = time.Hour
	}
	return saga.Definition[Trip]{
		Revision:     revision,
		Noun:         "trip",
		Compensation: saga.CompensationPolicy{AlertAttempts: 2, MaxInterval: retryEvery},
		Details:      func(t *Trip) string { return fmt.Sprintf("Price: %d", t.PriceCents) },
		MetricPrefix: "trip_",
		Steps: []saga.Step[Trip]{
			{
				Name: "book_flight", Kind: saga.Compensatable, TaskQueue: tripQueue,
				Action: "BookFlight", Do: saga.Bind(bookInput, func(t *Trip, b Booking) {
					t.FlightRef = b.Ref
					t.PriceCents += b.PriceCents
				}),
				Compensation: "CancelFlight", Undo: saga.Undo(ownRef),
				Retry: tripRetry, Timeouts: tripQuick,
			},
			{
				Name: "book_hotel", Kind: saga.Compensatable, TaskQueue: tripQueue, WithPrevious: revision >= 1,
				Action: "BookHotel", Do: saga.Bind(bookInput, func(t *Trip, b Booking) {
					t.HotelRef = b.Ref
					t.PriceCents += b.PriceCents
				}),
				Compensation: "CancelHotel", Undo: saga.Undo(ownRef),
				Retry: with(tripRetry, errNoRooms), Timeouts: tripQuick,
			},
			{Name: "approval", Kind: saga.Compensatable, Gate: &saga.Gate[Trip]{
				What: "approval", Status: statusApproval, Timeout: time.Hour, Update: updateApprove,
				Needed: func(t *Trip) bool { return t.PriceCents >= approvalAbove },
				Open: saga.OpenWith(func(t *Trip, req ApproveRequest) error {
					if req.By == t.req.Traveller {
						return errors.New("a traveller cannot approve their own trip")
					}
					return nil
				}, func(t *Trip, req ApproveRequest) { t.ApprovedBy = req.By }),
			}},
			{
				Name: "charge_card", Kind: saga.Pivot, Label: "payment", TaskQueue: tripQueue,
				Action: "Charge", Do: saga.Bind(func(t *Trip, k saga.Keys) PayInput {
					return PayInput{Key: k.Own(), Card: t.req.Card, AmountCents: t.PriceCents}
				}, func(t *Trip, b Booking) { t.PaymentRef = b.Ref }),
				Compensation: "Refund", Undo: saga.Undo(ownRef),
				DependsOn: []string{"book_flight", "book_hotel"},
				Retry:     with(tripForever, errDeclined), Timeouts: saga.Timeouts{StartToClose: 5 * time.Second, ScheduleToClose: time.Minute},
			},
			{
				Name: "send_itinerary", Kind: saga.Retriable, TaskQueue: tripQueue,
				Action: "SendItinerary", Do: saga.BindInput(func(t *Trip, k saga.Keys) RefInput { return RefInput{Key: k.Own()} }),
				Retry: tripForever, Timeouts: tripQuick,
			},
		},
	}
}

func bookInput(t *Trip, k saga.Keys) BookInput {
	return BookInput{Key: k.Own(), TripID: t.TripID, Nights: t.req.Nights}
}

func ownRef(_ *Trip, k saga.Keys) RefInput { return RefInput{Key: k.Own()} }

// BookTrip is the trip saga's workflow.
func BookTrip(ctx workflow.Context, req TripRequest) (Trip, error) {
	return saga.Run(ctx, tripDefinition(req.Revision, req.RetryEvery), &Trip{TripID: req.TripID, req: req})
}

// agency is the trip's activities: an in-memory travel agency whose
// failures the tests choose.
type agency struct {
	mu    sync.Mutex
	calls []string
	// noRooms makes BookHotel refuse (a business failure).
	noRooms bool
	// failCancel makes CancelFlight fail while it is above zero; each
	// failure counts it down (negative: fail until it is set to 0).
	failCancel int
	// slowHotel delays BookHotel.
	slowHotel time.Duration
}

func (a *agency) record(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, name)
}

func (a *agency) called() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

func attemptOf(ctx context.Context) int32 { return activity.GetInfo(ctx).Attempt }

func (a *agency) BookFlight(ctx context.Context, in BookInput) (Booking, error) {
	a.record("BookFlight")
	return Booking{Ref: "FL-" + in.TripID, PriceCents: 40000, Attempt: attemptOf(ctx)}, nil
}

func (a *agency) BookHotel(ctx context.Context, in BookInput) (Booking, error) {
	a.record("BookHotel")
	if a.slowHotel > 0 {
		time.Sleep(a.slowHotel)
	}
	if a.noRooms {
		return Booking{}, temporal.NewNonRetryableApplicationError("no rooms left", errNoRooms, nil)
	}
	return Booking{Ref: "HT-" + in.TripID, PriceCents: int64(in.Nights) * 15000, Attempt: attemptOf(ctx)}, nil
}

func (a *agency) Charge(ctx context.Context, in PayInput) (Booking, error) {
	a.record("Charge")
	if in.Card == "declined" {
		return Booking{}, temporal.NewNonRetryableApplicationError("card declined", errDeclined, nil)
	}
	return Booking{Ref: "PAY-" + in.Key, PriceCents: in.AmountCents, Attempt: attemptOf(ctx)}, nil
}

func (a *agency) CancelFlight(ctx context.Context, _ RefInput) (Done, error) {
	a.record("CancelFlight")
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failCancel != 0 {
		if a.failCancel > 0 {
			a.failCancel--
		}
		return Done{}, errors.New("airline unreachable")
	}
	return Done{Attempt: attemptOf(ctx)}, nil
}

func (a *agency) CancelHotel(ctx context.Context, _ RefInput) (Done, error) {
	a.record("CancelHotel")
	return Done{Attempt: attemptOf(ctx)}, nil
}

func (a *agency) Refund(ctx context.Context, _ RefInput) (Done, error) {
	a.record("Refund")
	return Done{Attempt: attemptOf(ctx)}, nil
}

func (a *agency) SendItinerary(ctx context.Context, _ RefInput) (Done, error) {
	a.record("SendItinerary")
	return Done{Attempt: attemptOf(ctx)}, nil
}

// setFailCancel changes failCancel under the lock.
func (a *agency) setFailCancel(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failCancel = n
}
