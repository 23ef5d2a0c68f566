package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/workflows"
)

// OrderView answers GET /v1/orders/{id}: the saga's state, and the
// services' records of the order. A record that does not exist yet (no
// payment before the charge step) is null; one that could not be had (its
// service down, slow or its circuit open) is null too and named in
// Unavailable.
type OrderView struct {
	WorkflowID string `json:"workflow_id"`
	workflows.State
	Order       *ordersaga.Order       `json:"order"`
	Reservation *ordersaga.Reservation `json:"reservation"`
	Payment     *ordersaga.Payment     `json:"payment"`
	// Unavailable lists the parts that could not be had, in the order
	// order, reservation, payment.
	Unavailable []UnavailablePart `json:"unavailable,omitempty"`
}

// UnavailablePart is a part of an order's view that could not be had.
type UnavailablePart struct {
	Part   string `json:"part"`
	Reason string `json:"reason"`
}

// The parts of an order's view, besides the saga's state.
const (
	PartOrder       = "order"
	PartReservation = "reservation"
	PartPayment     = "payment"
)

// Finished orders' parts: the services' records of a finished saga do not
// change (no step runs after its end), so the gateway keeps them with the
// final state they were read under, and reuses them only while the saga's
// state is that same state. An operator's reset shows as soon as the state
// does (within sagaclient.FinishedTTL): a running state, or a different
// final one, drops them.
const finishedViewsSize = 10_000

// viewParts are the services' parts of an order's view.
type viewParts struct {
	Order       *ordersaga.Order
	Reservation *ordersaga.Reservation
	Payment     *ordersaga.Payment
}

// finishedView is what the gateway keeps of a finished order: the final
// state it saw, and the parts read after it had seen it (nil until then).
type finishedView struct {
	state workflows.State
	parts *viewParts
}

// getOrder composes the order's view: the saga's state and the three
// services' records, fetched in parallel. Only the saga's state is
// required; a part that cannot be had leaves the answer a 200 that names
// it.
//
// A finished order's parts are read from the services once more after its
// end was seen, and then answered from memory (s.views) while the saga's
// state stays the same: polling a finished order costs the services
// nothing. Parts read while the saga ran, or with one unavailable, are
// never kept.
func (s *server) getOrder(c *gin.Context) {
	id, ok := s.order(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	view := OrderView{WorkflowID: workflows.WorkflowID(id)}
	kept, known := s.views.Get(id) // known: its end was seen before this read began
	if known && kept.parts != nil {
		st, err := s.deps.Sagas.State(ctx, id)
		if err != nil {
			s.fail(c, err)
			return
		}
		if st.Status.Terminal() && reflect.DeepEqual(st, kept.state) {
			view.State = st
			s.answerView(c, view, *kept.parts)
			return
		}
		s.views.Remove(id) // reset by an operator: another run
		known = false
	}
	var (
		stateErr error
		parts    viewParts
		missing  [3]*UnavailablePart
		wg       sync.WaitGroup
	)
	wg.Go(func() { view.State, stateErr = s.deps.Sagas.State(ctx, id) })
	wg.Go(func() { parts.Order, missing[0] = part(ctx, s.deps.Log, PartOrder, id, s.deps.Orders.Order) })
	wg.Go(func() {
		parts.Reservation, missing[1] = part(ctx, s.deps.Log, PartReservation, id, s.deps.Reservations.Reservation)
	})
	wg.Go(func() { parts.Payment, missing[2] = part(ctx, s.deps.Log, PartPayment, id, s.deps.Payments.Payment) })
	wg.Wait()
	if stateErr != nil {
		s.fail(c, stateErr)
		return
	}
	for _, m := range missing {
		if m != nil {
			view.Unavailable = append(view.Unavailable, *m)
		}
	}
	switch {
	case !view.Status.Terminal():
		if known {
			s.views.Remove(id)
		}
	case known && len(view.Unavailable) == 0 && reflect.DeepEqual(view.State, kept.state):
		s.views.Put(id, finishedView{state: view.State, parts: &parts})
	case !known || !reflect.DeepEqual(view.State, kept.state):
		// Its end is seen: the next read's parts are final.
		s.views.Put(id, finishedView{state: view.State})
	}
	s.answerView(c, view, parts)
}

// answerView writes view with parts as the 200 answer.
func (s *server) answerView(c *gin.Context, view OrderView, parts viewParts) {
	view.Order, view.Reservation, view.Payment = parts.Order, parts.Reservation, parts.Payment
	// Lists are lists: no lines yet (before the reservation) is [], not null.
	if view.Lines == nil {
		view.Lines = []ordersaga.Line{}
	}
	if view.Steps == nil {
		view.Steps = []workflows.StepState{}
	}
	c.JSON(http.StatusOK, view)
}

// part fetches one part of orderID's view: the record; nil and nil when it
// does not exist; nil and the reason when it could not be had (logged).
func part[T any](ctx context.Context, log *slog.Logger, name, orderID string, get func(context.Context, string) (T, error)) (*T, *UnavailablePart) {
	v, err := get(ctx, orderID)
	switch {
	case err == nil:
		return &v, nil
	case ordersaga.ErrorCode(err) == ordersaga.ENOTFOUND:
		return nil, nil
	}
	log.WarnContext(ctx, "order view part unavailable", "order_id", orderID, "part", name, "error", err)
	reason := "internal error"
	var e *ordersaga.Error
	if errors.As(err, &e) && e.Code != ordersaga.EINTERNAL {
		reason = e.Message
	}
	return nil, &UnavailablePart{Part: name, Reason: reason}
}
