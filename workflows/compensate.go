package workflows

import (
	"errors"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/activities"
)

// abort compensates the saga after cause ended its forward path, and returns
// the final state. It runs on a disconnected context, so a cancelled
// workflow still compensates.
func (s *saga) abort(ctx workflow.Context, cause error) (State, error) {
	final := StatusCompensated
	temporalCancel := false
	switch {
	case s.cancelReason != "":
		final = StatusCancelled
		s.state.FailureReason = s.cancelReason
	case ctx.Err() != nil || temporal.IsCanceledError(cause):
		final = StatusCancelled
		temporalCancel = ctx.Err() != nil
		s.state.FailureReason = "workflow cancelled"
	case errors.Is(cause, errApprovalTimedOut):
		final = StatusCancelled
		s.state.FailureReason = "approval timed out after " + s.opts.ApprovalTimeout.String()
	default:
		s.state.FailureReason = errorMessage(cause)
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	s.compensate(dctx)
	s.setStatus(dctx, final)
	if temporalCancel {
		return s.state, temporal.NewCanceledError(s.state.FailureReason)
	}
	return s.state, nil
}

// compensate undoes toCompensate in reverse order. Each compensation is
// retried until it succeeds; past CompensationAlertAttempts the saga shows
// FAILED while it keeps retrying.
func (s *saga) compensate(ctx workflow.Context) {
	s.setStatus(ctx, StatusCompensating)
	for _, step := range slices.Backward(s.toCompensate) {
		if step.Compensation == "" {
			continue
		}
		st := s.state.step(step.Name)
		st.Status = StepCompensating
		args, err := s.bindCompensation(step)
		if err != nil {
			// A definition bug: fail the workflow task so a fixed worker
			// can resume it; never skip a compensation.
			panic(err)
		}
		st.CompensationAttempts = s.runCompensation(ctx, step, st, args)
		st.Status = StepCompensated
		if s.state.Status == StatusFailed {
			s.setStatus(ctx, StatusCompensating)
		}
	}
}

// runCompensation runs one compensation until it succeeds and returns the
// attempts it took.
func (s *saga) runCompensation(ctx workflow.Context, step Step, st *StepState, args any) int32 {
	policy := RetryPolicy{
		InitialInterval:    time.Second,
		MaximumInterval:    s.opts.CompensationMaxInterval,
		BackoffCoefficient: 2,
		MaximumAttempts:    s.opts.CompensationAlertAttempts,
	}
	var spent int32
	for {
		opts := workflow.ActivityOptions{
			TaskQueue:           step.TaskQueue,
			StartToCloseTimeout: step.Timeouts.StartToClose,
			RetryPolicy:         policy.Temporal(),
		}
		var out activities.Outcome
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), step.Compensation, args).Get(ctx, &out)
		if err == nil {
			st.CompensationError = ""
			return spent + out.Attempt
		}
		spent += policy.MaximumAttempts
		st.CompensationError = errorMessage(err)
		s.setStatus(ctx, StatusFailed)
		workflow.GetLogger(ctx).Error("compensation failing past its bound; saga needs attention",
			"step", step.Name, "attempts", spent, "error", err)
		if policy.MaximumAttempts == 0 {
			// Only a non-retryable error ends an unlimited retry: wait and
			// try again rather than abandon the compensation.
			spent++
			_ = workflow.Sleep(ctx, s.opts.CompensationMaxInterval)
		}
		// From now on let the server retry without limit: no history grows.
		policy.MaximumAttempts = 0
		policy.InitialInterval = s.opts.CompensationMaxInterval
	}
}

// isBusinessFailure reports whether err is one of step's declared business
// failures: a definite "no" from the service, after which the step has no
// effect to compensate.
func isBusinessFailure(step Step, err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return false
	}
	return slices.Contains(step.Retry.NonRetryableErrorTypes, appErr.Type())
}

// attemptsOnFailure is what the workflow knows of a failed step's attempts:
// a retry-exhausted step used all of them, a business failure says nothing.
func attemptsOnFailure(step Step, err error) int32 {
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) && actErr.RetryState() == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		return step.Retry.MaximumAttempts
	}
	return 0
}

// errorMessage is the innermost message of err: the service's own words,
// without Temporal's "activity error (type: ..., scheduledEventID: ...)"
// wrapping.
func errorMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return timeoutErr.Error()
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
