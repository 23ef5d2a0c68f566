package saga

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// abort compensates the saga after cause ended its forward path, and returns
// the final state. It runs on a disconnected context, so a cancelled
// workflow still compensates.
func (r *runner[S]) abort(ctx workflow.Context, cause error) (S, error) {
	final := StatusCompensated
	temporalCancel := false
	var timedOut gateTimedOut
	switch {
	case r.cancelReason != "":
		final = StatusCancelled
		r.progress.FailureReason = r.cancelReason
	case ctx.Err() != nil || temporal.IsCanceledError(cause):
		final = StatusCancelled
		temporalCancel = ctx.Err() != nil
		r.progress.FailureReason = "workflow cancelled"
	case errors.As(cause, &timedOut):
		final = StatusCancelled
		r.progress.FailureReason = timedOut.reason
	default:
		r.progress.FailureReason = errorMessage(cause)
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	r.compensate(dctx)
	r.setStatus(dctx, final)
	if temporalCancel {
		// The close event of a canceled workflow records only the error's
		// details: make them the final state, so a finished saga is read
		// from its close event like a completed one.
		return *r.state, temporal.NewCanceledError(*r.state)
	}
	return *r.state, nil
}

// compensate undoes toCompensate: a step's compensation starts once the
// compensations of every later step that depends on it have ended, so the
// order is reverse execution order wherever it matters. Each compensation is
// retried until it succeeds or an operator resolves it; past
// Compensation.AlertAttempts the saga shows StatusFailed while it keeps
// retrying.
func (r *runner[S]) compensate(ctx workflow.Context) {
	r.setStatus(ctx, StatusCompensating)
	// In definition order: steps that start together may have ended in
	// either order, and a step's dependents come after it.
	var pending []Step[S]
	for _, step := range r.def.Steps {
		if step.Compensation != "" && slices.ContainsFunc(r.toCompensate, func(c Step[S]) bool { return c.Name == step.Name }) {
			pending = append(pending, step)
			r.comps[step.Name] = &compensation{}
		}
	}
	if !r.changed(ctx, ChangeIndependentCompensations) {
		for _, step := range slices.Backward(pending) {
			r.compensateStep(ctx, step)
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
				return !slices.ContainsFunc(dependents, func(d Step[S]) bool { return !r.comps[d.Name].done })
			})
			r.compensateStep(ctx, step)
		})
	}
	wg.Wait(ctx)
}

// dependentsOf returns the steps of later that depend on step.
func dependentsOf[S any](step Step[S], later []Step[S]) []Step[S] {
	var out []Step[S]
	for _, l := range later {
		if slices.Contains(l.DependsOn, step.Name) {
			out = append(out, l)
		}
	}
	return out
}

// compensateStep runs step's compensation to its end: compensated, or
// resolved by an operator.
func (r *runner[S]) compensateStep(ctx workflow.Context, step Step[S]) {
	c := r.comps[step.Name]
	st := r.progress.Step(step.Name)
	st.Status = StepCompensating
	r.showDetails(ctx)
	args := step.Undo(r.state, r.keys(step.Name))
	st.CompensationAttempts = r.runCompensation(ctx, step, c, st, args)
	if c.resolution != nil {
		st.Status = StepResolved
		st.Resolution = c.resolution
		st.CompensationError = ""
		r.recordResolution(ctx, step, *c.resolution)
	} else {
		st.Status = StepCompensated
	}
	r.observeCompensation(ctx, step.Name, st)
	c.done, c.stuck = true, false
	if r.progress.Status == StatusFailed && !r.anyStuck() {
		r.setStatus(ctx, StatusCompensating)
	}
}

// anyStuck reports whether a compensation is failing past its bound.
func (r *runner[S]) anyStuck() bool {
	for _, step := range r.toCompensate {
		if c, ok := r.comps[step.Name]; ok && c.stuck {
			return true
		}
	}
	return false
}

// runCompensation runs one compensation until it succeeds or an operator
// resolves it, and returns the attempts it took. An operator's retry
// cancels the attempt in flight (or the wait before the next one) and
// starts a new one at once.
func (r *runner[S]) runCompensation(ctx workflow.Context, step Step[S], c *compensation, st *StepState, args any) int32 {
	policy := RetryPolicy{
		InitialInterval:    time.Second,
		MaximumInterval:    r.comp.MaxInterval,
		BackoffCoefficient: 2,
		MaximumAttempts:    r.comp.AlertAttempts,
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
		var out attempted
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
		r.setStatus(ctx, StatusFailed)
		workflow.GetLogger(ctx).Error("compensation failing past its bound; saga needs attention",
			"step", step.Name, "attempts", spent, "error", err)
		if policy.MaximumAttempts == 0 {
			// Only a non-retryable error ends an unlimited retry: wait and
			// try again rather than abandon the compensation.
			spent++
			r.backoff(ctx, c, r.comp.MaxInterval)
		}
		// From now on let the server retry without limit: no history grows.
		policy.MaximumAttempts = 0
		policy.InitialInterval = r.comp.MaxInterval
	}
}

// backoff waits d before the next attempt, or less if an operator acts.
func (r *runner[S]) backoff(ctx workflow.Context, c *compensation, d time.Duration) {
	tctx, cancel := workflow.WithCancel(ctx)
	c.cancel = cancel
	_ = workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: "Sleep"}).Get(ctx, nil)
	c.cancel = nil
}

// recordResolution runs the definition's Resolved activity, retried until it
// succeeds.
func (r *runner[S]) recordResolution(ctx workflow.Context, step Step[S], res Resolution) {
	if r.def.Resolved == nil {
		return
	}
	call := r.def.Resolved(r.state, step.Name, r.keys(step.Name), res)
	if call.StartToClose <= 0 {
		call.StartToClose = 10 * time.Second
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           call.TaskQueue,
		StartToCloseTimeout: call.StartToClose,
		RetryPolicy:         foreverRetry.Temporal(),
		Summary:             "record resolution of " + step.Name,
	})
	if err := workflow.ExecuteActivity(actx, call.Activity, call.Input).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("resolution not recorded", "step", step.Name, "error", err)
	}
}

// foreverRetry retries what the engine runs itself without limit.
var foreverRetry = RetryPolicy{InitialInterval: 500 * time.Millisecond, MaximumInterval: time.Minute, BackoffCoefficient: 2}
