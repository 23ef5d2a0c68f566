package saga

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"
)

// CompensationRequest is the argument of UpdateRetryCompensation and
// UpdateResolveCompensation.
type CompensationRequest struct {
	// Step is the name of the step whose compensation is acted on.
	Step string `json:"step"`
	// By names the operator (required to resolve).
	By string `json:"by"`
	// Reason says what the operator did by hand (required to resolve).
	Reason string `json:"reason,omitempty"`
}

// MaxReasonLen bounds the reasons of resolutions, in characters.
const MaxReasonLen = 500

// ErrNotCompensating is why an operator action on a step whose
// compensation is not running is refused (the update's error wraps its
// message).
var ErrNotCompensating = errors.New("not being compensated")

// compensation is one step's compensation while it runs: what the operator
// updates act on. Only the workflow's coroutines touch it.
type compensation struct {
	// cancel cancels the attempt in flight, if any.
	cancel workflow.CancelFunc
	// retryNow asks for a new attempt at once.
	retryNow bool
	// resolution, once set, ends the compensation as resolved by hand.
	resolution *Resolution
	// stuck: the compensation failed past its alert bound (StatusFailed).
	stuck bool
	done  bool
}

// interrupted reports whether an operator asked for something the running
// compensation must react to.
func (c *compensation) interrupted() bool { return c.retryNow || c.resolution != nil }

// interrupt stops the attempt in flight (or the wait before the next one).
func (c *compensation) interrupt() {
	if c.cancel != nil {
		c.cancel()
	}
}

// registerOperatorActions installs the retry and resolve updates.
func (r *runner[S]) registerOperatorActions(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRetryCompensation,
		func(ctx workflow.Context, req CompensationRequest) error {
			// Checked again: the compensation may have ended between the
			// validator and this handler (in the same workflow task).
			c, err := r.activeCompensation(req.Step)
			if err != nil {
				return err
			}
			c.retryNow = true
			c.interrupt()
			workflow.GetLogger(ctx).Info("operator retries compensation", "step", req.Step, "by", req.By)
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: r.validateRetry},
	); err != nil {
		return fmt.Errorf("register %s: %w", UpdateRetryCompensation, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateResolveCompensation,
		func(ctx workflow.Context, req CompensationRequest) error {
			c, err := r.activeCompensation(req.Step) // checked again, as for a retry
			if err != nil {
				return err
			}
			c.resolution = &Resolution{By: req.By, At: workflow.Now(ctx).UTC(), Reason: req.Reason}
			c.interrupt()
			workflow.GetLogger(ctx).Warn("operator resolved compensation by hand", "step", req.Step, "by", req.By, "reason", req.Reason)
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: r.validateResolve},
	); err != nil {
		return fmt.Errorf("register %s: %w", UpdateResolveCompensation, err)
	}
	return nil
}

func (r *runner[S]) validateRetry(_ workflow.Context, req CompensationRequest) error {
	_, err := r.activeCompensation(req.Step)
	return err
}

func (r *runner[S]) validateResolve(_ workflow.Context, req CompensationRequest) error {
	if _, err := r.activeCompensation(req.Step); err != nil {
		return err
	}
	switch {
	case req.By == "":
		return errors.New("resolving a compensation needs the operator's name (by)")
	case req.Reason == "":
		return errors.New("resolving a compensation needs a reason")
	case utf8.RuneCountInString(req.Reason) > MaxReasonLen:
		return fmt.Errorf("reason must be at most %d characters", MaxReasonLen)
	}
	return nil
}

// activeCompensation returns the running compensation of step, or an error
// saying why there is none to act on.
func (r *runner[S]) activeCompensation(step string) (*compensation, error) {
	if _, ok := r.def.step(step); !ok {
		return nil, fmt.Errorf("unknown step %q", step)
	}
	c, ok := r.comps[step]
	if !ok || c.done {
		return nil, fmt.Errorf("step %s is %s: %w", step, r.progress.Step(step).Status, ErrNotCompensating)
	}
	if c.resolution != nil {
		return nil, fmt.Errorf("step %s was already resolved by %s", step, c.resolution.By)
	}
	return c, nil
}
