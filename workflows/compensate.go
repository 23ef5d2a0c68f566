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
		// The close event of a canceled workflow records only the error's
		// details: make them the final State, so a finished saga is read
		// from its close event like a completed one (sagaclient.State).
		// Details are not compared on replay; sagas canceled before this
		// carry FailureReason, a string, instead.
		return s.state, temporal.NewCanceledError(s.state)
	}
	return s.state, nil
}

// Workflow change ID: version 1 compensates steps that do not depend on one
// another concurrently (Step.DependsOn), so one stuck compensation does not
// hold back an independent one; sagas started before it compensate one step
// at a time, in reverse order.
const changeIndependentCompensations = "independent-compensations"

// compensate undoes toCompensate: a step's compensation starts once the
// compensations of every later step that depends on it have ended, so the
// order is reverse execution order wherever it matters. Each compensation is
// retried until it succeeds or an operator resolves it; past
// CompensationAlertAttempts the saga shows FAILED while it keeps retrying.
func (s *saga) compensate(ctx workflow.Context) {
	s.setStatus(ctx, StatusCompensating)
	// In definition order: steps that start together may have ended in
	// either order, and a step's dependents come after it.
	var pending []Step
	for _, step := range s.steps {
		if step.Compensation != "" && slices.ContainsFunc(s.toCompensate, func(c Step) bool { return c.Name == step.Name }) {
			pending = append(pending, step)
			s.comps[step.Name] = &compensation{}
		}
	}
	if s.in.Revision < 1 && s.getVersion(ctx, changeIndependentCompensations, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		for _, step := range slices.Backward(pending) {
			s.compensateStep(ctx, step)
		}
		return
	}
	wg := workflow.NewWaitGroup(ctx)
	for i, step := range pending {
		dependents := dependentsOf(step, pending[i+1:])
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			_ = workflow.Await(ctx, func() bool {
				return !slices.ContainsFunc(dependents, func(d Step) bool { return !s.comps[d.Name].done })
			})
			s.compensateStep(ctx, step)
		})
	}
	wg.Wait(ctx)
}

// dependentsOf returns the steps of later that depend on step.
func dependentsOf(step Step, later []Step) []Step {
	var out []Step
	for _, l := range later {
		if slices.Contains(l.DependsOn, step.Name) {
			out = append(out, l)
		}
	}
	return out
}

// compensateStep runs step's compensation to its end: compensated, or
// resolved by an operator.
func (s *saga) compensateStep(ctx workflow.Context, step Step) {
	c := s.comps[step.Name]
	st := s.state.step(step.Name)
	st.Status = StepCompensating
	s.showDetails(ctx)
	args, err := s.bindCompensation(step)
	if err != nil {
		// A definition bug: fail the workflow task so a fixed worker can
		// resume it; never skip a compensation.
		panic(err)
	}
	st.CompensationAttempts = s.runCompensation(ctx, step, c, st, args)
	if c.resolution != nil {
		st.Status = StepResolved
		st.Resolution = c.resolution
		st.CompensationError = ""
		s.recordResolution(ctx, step, *c.resolution)
	} else {
		st.Status = StepCompensated
	}
	s.observeCompensation(ctx, step.Name, st)
	c.done, c.stuck = true, false
	if s.state.Status == StatusFailed && !s.anyStuck() {
		s.setStatus(ctx, StatusCompensating)
	}
}

// anyStuck reports whether a compensation is failing past its bound.
func (s *saga) anyStuck() bool {
	for _, step := range s.toCompensate {
		if c, ok := s.comps[step.Name]; ok && c.stuck {
			return true
		}
	}
	return false
}

// runCompensation runs one compensation until it succeeds or an operator
// resolves it, and returns the attempts it took. An operator's retry
// cancels the attempt in flight (or the wait before the next one) and
// starts a new one at once.
func (s *saga) runCompensation(ctx workflow.Context, step Step, c *compensation, st *StepState, args any) int32 {
	policy := RetryPolicy{
		InitialInterval:    time.Second,
		MaximumInterval:    s.opts.CompensationMaxInterval,
		BackoffCoefficient: 2,
		MaximumAttempts:    s.opts.CompensationAlertAttempts,
	}
	var spent int32
	for {
		if c.resolution != nil {
			return spent
		}
		c.retryNow = false
		opts := workflow.ActivityOptions{
			TaskQueue:           step.TaskQueue,
			StartToCloseTimeout: step.Timeouts.StartToClose,
			RetryPolicy:         policy.Temporal(),
			Summary:             compensationSummary(step.Name),
		}
		actx, cancel := workflow.WithCancel(ctx)
		c.cancel = cancel
		var out activities.Outcome
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(actx, opts), step.Compensation, args).Get(ctx, &out)
		c.cancel = nil
		if err == nil {
			st.CompensationError = ""
			return spent + out.Attempt
		}
		if c.interrupted() {
			continue // the operator's retry or resolution
		}
		spent += policy.MaximumAttempts
		st.CompensationError = errorMessage(err)
		c.stuck = true
		s.setStatus(ctx, StatusFailed)
		workflow.GetLogger(ctx).Error("compensation failing past its bound; saga needs attention",
			"step", step.Name, "attempts", spent, "error", err)
		if policy.MaximumAttempts == 0 {
			// Only a non-retryable error ends an unlimited retry: wait and
			// try again rather than abandon the compensation.
			spent++
			s.backoff(ctx, c, s.opts.CompensationMaxInterval)
		}
		// From now on let the server retry without limit: no history grows.
		policy.MaximumAttempts = 0
		policy.InitialInterval = s.opts.CompensationMaxInterval
	}
}

// backoff waits d before the next attempt, or less if an operator acts.
func (s *saga) backoff(ctx workflow.Context, c *compensation, d time.Duration) {
	tctx, cancel := workflow.WithCancel(ctx)
	c.cancel = cancel
	_ = workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: "Sleep"}).Get(ctx, nil)
	c.cancel = nil
}

// recordResolution has the order service record an operator's resolution
// and emit saga.compensation_resolved; retried until it succeeds.
func (s *saga) recordResolution(ctx workflow.Context, step Step, r Resolution) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           TaskQueueOrder,
		StartToCloseTimeout: quick.StartToClose,
		RetryPolicy:         foreverRetry.Temporal(),
		Summary:             "record resolution of " + step.Name,
	})
	in := activities.ResolutionInput{Key: s.key(step.Name), OrderID: s.in.OrderID, Step: step.Name, By: r.By, At: r.At, Reason: r.Reason}
	if err := workflow.ExecuteActivity(actx, activities.RecordResolutionName, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("resolution not recorded", "step", step.Name, "error", err)
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
// a retry-exhausted step used all of them; a business failure says on which
// attempt it came (activities.AttemptInterceptor), or nothing (0) when its
// worker did not record it.
func attemptsOnFailure(step Step, err error) int32 {
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) && actErr.RetryState() == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		return step.Retry.MaximumAttempts
	}
	return activities.FailedAttempt(err)
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
