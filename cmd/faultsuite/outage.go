package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/api/client"
)

// The provider outage: the payment provider's process is stopped for
// --outage while orders keep arriving. The charge, the saga's pivot, must
// ride it out within its retry budget: every tok_ok order placed during the
// outage completes, and its retries show in GET /v1/orders/{id} meanwhile.

// window is when the provider was down.
type window struct{ from, to time.Time }

func (w window) contains(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

// placement is an order the API accepted, and when.
type placement struct {
	i  int
	id string
	at time.Time
}

// place records that order i was accepted as id.
func (s *suite) place(i int, id string) {
	s.mu.Lock()
	s.placed = append(s.placed, placement{i: i, id: id, at: time.Now()})
	s.mu.Unlock()
}

// providerOutage SIGKILLs the provider 1s after the first order and restarts
// it --outage later; its state is in Redis, so it comes back as it was.
func (s *suite) providerOutage(ctx context.Context) fault {
	return fault{
		name:  "provider-outage",
		what:  fmt.Sprintf("payment provider process stopped (SIGKILL) for %s while orders arrive", s.cfg.Outage),
		after: time.Second, lasts: s.cfg.Outage,
		inject: func() {
			s.mu.Lock()
			s.outage.from = time.Now()
			s.mu.Unlock()
			s.kill("provider")
		},
		heal: func() {
			s.observeRetrying(ctx)
			s.mu.Lock()
			s.outage.to = time.Now()
			s.mu.Unlock()
			if err := s.start("provider"); err != nil {
				s.log.Error("restart the payment provider", "error", err)
			}
		},
	}
}

// observeRetrying looks, just before the provider comes back, for an order
// placed during the outage whose state shows its payment (authorization,
// capture, or a charge before revision 2) retrying: attempts and the last
// error.
func (s *suite) observeRetrying(ctx context.Context) {
	s.mu.Lock()
	var during []placement
	for _, p := range s.placed {
		if !p.at.Before(s.outage.from) {
			during = append(during, p)
		}
	}
	s.mu.Unlock()
	for _, p := range during {
		o, err := s.order(ctx, p.id)
		if err != nil {
			continue
		}
		for _, name := range []client.StepName{client.StepNameAuthorizePayment, client.StepNameCapturePayment, client.StepNameChargePayment} {
			if st := step(*o, name); st.Status == client.StepStateStatusRunning && st.Attempts >= 2 && st.LastError != nil {
				seen := fmt.Sprintf("order %s: %s attempts=%d last_error=%q", p.id, name, st.Attempts, *st.LastError)
				s.log.Info("a payment retrying through the outage", "state", seen)
				s.mu.Lock()
				s.retrying = seen
				s.mu.Unlock()
				return
			}
		}
	}
}

// checkOutage requires every tok_ok order placed during the outage to have
// completed. Two endings are not the outage's doing and are allowed: the
// suite cancelled the order before its payment started, or the order was
// out of stock.
func (s *suite) checkOutage(res *Result, statuses map[string]client.OrderView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res.RetryingSeen = s.retrying
	for _, p := range s.placed {
		if token(p.i) != "tok_ok" || !s.outage.contains(p.at) {
			continue
		}
		o := statuses[p.id]
		var reason string
		if o.FailureReason != nil {
			reason = *o.FailureReason
		}
		switch {
		case o.Status == client.SagaStatusCANCELLED && cancelled(p.i):
			continue
		case o.Status == client.SagaStatusCOMPENSATED && strings.Contains(reason, "out of stock"):
			continue
		}
		res.OutageOrders++
		if o.Status == client.SagaStatusCOMPLETED {
			res.OutageCompleted++
		} else {
			res.OutageFailures = append(res.OutageFailures, fmt.Sprintf("%s %s %q", p.id, o.Status, reason))
		}
	}
}
