package workflows

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"
)

// ApproveRequest is the optional argument of UpdateApprove.
type ApproveRequest struct {
	// By names who approves (the API's client name); kept in
	// State.ApprovedBy.
	By string `json:"by"`
}

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

// MaxReasonLen bounds the reasons of cancels and resolutions, in
// characters (as the API's schema counts them).
const MaxReasonLen = 500

// compensation is one step's compensation while it runs: what the operator
// updates act on. Only the workflow's coroutines touch it.
type compensation struct {
	// cancel cancels the attempt in flight, if any.
	cancel workflow.CancelFunc
	// retryNow asks for a new attempt at once.
	retryNow bool
	// resolution, once set, ends the compensation as resolved by hand.
	resolution *Resolution
	// stuck: the compensation failed past its alert bound (saga FAILED).
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
func (s *saga) registerOperatorActions(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRetryCompensation,
		func(ctx workflow.Context, req CompensationRequest) error {
			// Checked again: the compensation may have ended between the
			// validator and this handler (in the same workflow task).
			c, err := s.activeCompensation(req.Step)
			if err != nil {
				return err
			}
			c.retryNow = true
			c.interrupt()
			workflow.GetLogger(ctx).Info("operator retries compensation", "step", req.Step, "by", req.By)
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: s.validateRetry},
	); err != nil {
		return fmt.Errorf("register %s: %w", UpdateRetryCompensation, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateResolveCompensation,
		func(ctx workflow.Context, req CompensationRequest) error {
			c, err := s.activeCompensation(req.Step) // checked again, as for a retry
			if err != nil {
				return err
			}
			c.resolution = &Resolution{By: req.By, At: workflow.Now(ctx).UTC(), Reason: req.Reason}
			c.interrupt()
			workflow.GetLogger(ctx).Warn("operator resolved compensation by hand", "step", req.Step, "by", req.By, "reason", req.Reason)
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: s.validateResolve},
	); err != nil {
		return fmt.Errorf("register %s: %w", UpdateResolveCompensation, err)
	}
	return nil
}

// errNotCompensating is why an operator action on a step whose compensation
// is not running is refused.
var errNotCompensating = errors.New("not being compensated")

func (s *saga) validateRetry(_ workflow.Context, req CompensationRequest) error {
	if _, err := s.activeCompensation(req.Step); err != nil {
		return err
	}
	return nil
}

func (s *saga) validateResolve(_ workflow.Context, req CompensationRequest) error {
	if _, err := s.activeCompensation(req.Step); err != nil {
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
func (s *saga) activeCompensation(step string) (*compensation, error) {
	known := false
	for _, st := range s.steps {
		known = known || st.Name == step
	}
	if !known {
		return nil, fmt.Errorf("unknown step %q", step)
	}
	c, ok := s.comps[step]
	if !ok || c.done {
		return nil, fmt.Errorf("step %s is %s: %w", step, s.state.step(step).Status, errNotCompensating)
	}
	if c.resolution != nil {
		return nil, fmt.Errorf("step %s was already resolved by %s", step, c.resolution.By)
	}
	return c, nil
}
