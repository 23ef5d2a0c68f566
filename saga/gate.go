package saga

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Gate makes a saga wait, durably, until someone lets it go on: an update
// (and optionally a signal) opens it. Past Timeout the saga is cancelled and
// its completed steps are compensated. A gate step is Compensatable: it
// comes before the pivot.
type Gate[S any] struct {
	// What names what the gate waits for, in messages and the Web UI
	// ("approval": "no approval within 24h", "approval deadline").
	What string
	// Status is the saga's status while it waits (e.g. AWAITING_APPROVAL).
	Status Status
	// Needed reports whether this saga must wait; when it reports false the
	// step is skipped. Nil: always.
	Needed func(s *S) bool
	// Timeout bounds the wait (a durable timer).
	Timeout time.Duration
	// Update names the update that opens the gate. The update is refused
	// unless the saga is waiting at this gate, or when Open's check refuses
	// its argument.
	Update string
	// Signal, if set, names a signal that opens the gate too, fire and
	// forget (its argument is ignored; a signal outside the wait is
	// dropped).
	Signal string
	// Open decodes the update's argument and applies it (see OpenWith).
	Open Opener[S]
}

// Opener is a gate's typed update handler. Make one with OpenWith.
type Opener[S any] struct {
	handlers func(s *S, ready func() error, open func()) (handler, validator any)
}

// OpenWith returns the opener of an update whose argument is R: check (nil:
// none) may refuse an argument before anything is recorded (the caller sees
// the error, the history nothing); apply (nil: none) records an accepted one
// in the saga's state.
func OpenWith[S, R any](check func(s *S, req R) error, apply func(s *S, req R)) Opener[S] {
	return Opener[S]{handlers: func(s *S, ready func() error, open func()) (any, any) {
		handler := func(_ workflow.Context, req R) error {
			if apply != nil {
				apply(s, req)
			}
			open()
			return nil
		}
		validator := func(_ workflow.Context, req R) error {
			if err := ready(); err != nil {
				return err
			}
			if check != nil {
				return check(s, req)
			}
			return nil
		}
		return handler, validator
	}}
}

// gateTimedOut ends a saga whose gate was not opened in time.
type gateTimedOut struct{ reason string }

func (e gateTimedOut) Error() string { return e.reason }

// registerGates installs the update (and signal) of every gate.
func (r *runner[S]) registerGates(ctx workflow.Context) error {
	for _, step := range r.def.Steps {
		g := step.Gate
		if g == nil {
			continue
		}
		name := step.Name
		ready := func() error {
			if st := r.progress.Status; st != g.Status {
				return fmt.Errorf("%s is %s, not %s", r.def.noun(), st, strings.ToLower(strings.ReplaceAll(string(g.Status), "_", " ")))
			}
			return nil
		}
		open := func() { r.opened[name] = true }
		if g.Open.handlers != nil {
			h, v := g.Open.handlers(r.state, ready, open)
			if err := workflow.SetUpdateHandlerWithOptions(ctx, g.Update, h, workflow.UpdateHandlerOptions{Validator: v}); err != nil {
				return fmt.Errorf("register %s: %w", g.Update, err)
			}
		}
		if g.Signal == "" {
			continue
		}
		signals := workflow.GetSignalChannel(ctx, g.Signal)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for signals.Receive(ctx, nil) {
				if r.progress.Status == g.Status {
					open()
				}
			}
		})
	}
	return nil
}

// await runs a gate step: it waits for the gate to open, for its timeout,
// or for ctx to be cancelled.
func (r *runner[S]) await(ctx workflow.Context, step Step[S], st *StepState) error {
	g := step.Gate
	if g.Needed != nil && !g.Needed(r.state) {
		st.Status = StepSkipped
		return nil
	}
	st.Status = StepRunning
	r.setStatus(ctx, g.Status)
	start := workflow.Now(ctx)
	ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      g.Timeout,
		TimerOptions: workflow.TimerOptions{Summary: g.What + " deadline"},
	}, func() bool { return r.opened[step.Name] })
	if err == nil && !ok {
		st.LastError = fmt.Sprintf("no %s within %s", g.What, g.Timeout)
		err = gateTimedOut{reason: fmt.Sprintf("%s timed out after %s", g.What, g.Timeout)}
	}
	if err != nil {
		st.Status = StepFailed
		r.observeStep(ctx, st.Name, start, 1, err)
		return err
	}
	st.Status = StepCompleted
	r.observeStep(ctx, st.Name, start, 1, nil)
	r.setStatus(ctx, StatusRunning)
	return nil
}
