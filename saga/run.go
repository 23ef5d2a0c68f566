package saga

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Run runs the saga def on state, whose engine part (Progress) it
// initialises, and returns the final state. Call it from a workflow
// function, after filling in the saga's own data.
//
// A business failure (a step's non-retryable error), a gate's timeout or a
// cancel before the pivot compensates the completed steps — and those that
// ended without a definite answer — in reverse order, and still returns the
// state (StatusCompensated or StatusCancelled) with a nil error. A Temporal
// cancellation request does the same but ends the workflow as canceled, with
// the final state as the canceled error's details. Compensation runs on a
// disconnected context: cancelling the workflow does not stop it. Once the
// pivot starts, cancellation is ignored and the saga goes forward.
//
// It returns an error without running anything if def is invalid
// (Validate) or its handlers cannot be registered.
func Run[S any, P State[S]](ctx workflow.Context, def Definition[S], state P) (S, error) {
	if err := Validate(def); err != nil {
		return *state, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidDefinition", err)
	}
	r := newRunner(ctx, def, state, state.SagaProgress())
	if err := r.register(ctx); err != nil {
		return *state, err
	}
	return r.run(ctx)
}

// runner is one saga's interpreter. Only the workflow's coroutines touch it.
type runner[S any] struct {
	def      Definition[S]
	comp     CompensationPolicy
	state    *S
	progress *Progress

	workflowID string
	// pivotStarted is set when the pivot is scheduled; from then on the saga
	// cannot be cancelled.
	pivotStarted bool
	// opened records the gates opened, by step name.
	opened map[string]bool
	// cancelReason is set by the cancel update.
	cancelReason string
	// actx is the context of the steps before the pivot; cancelActions
	// cancels it.
	actx          workflow.Context
	cancelActions workflow.CancelFunc
	// toCompensate lists, in execution order, the steps whose effects may
	// exist: completed ones and ones that ended without a definite answer.
	toCompensate []Step[S]
	// comps are the compensations started, by step name.
	comps map[string]*compensation
}

func newRunner[S any](ctx workflow.Context, def Definition[S], state *S, p *Progress) *runner[S] {
	r := &runner[S]{
		def:        def,
		comp:       def.Compensation.withDefaults(),
		state:      state,
		progress:   p,
		workflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		opened:     map[string]bool{},
		comps:      map[string]*compensation{},
	}
	p.Status = StatusRunning
	p.Steps = nil
	for _, step := range def.Steps {
		p.Steps = append(p.Steps, StepState{Name: step.Name, Kind: step.Kind, Status: StepPending})
	}
	return r
}

// register installs the query, update and signal handlers.
func (r *runner[S]) register(ctx workflow.Context) error {
	r.actx, r.cancelActions = workflow.WithCancel(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (S, error) { return *r.state, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	if err := r.registerGates(ctx); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel,
		func(ctx workflow.Context, reason string) error {
			if reason == "" {
				reason = "cancelled on request"
			}
			r.cancelReason = reason
			r.cancelActions()
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: r.validateCancel},
	); err != nil {
		return fmt.Errorf("register cancel: %w", err)
	}
	if err := r.registerAwaitStep(ctx); err != nil {
		return err
	}
	return r.registerOperatorActions(ctx)
}

// registerAwaitStep installs UpdateAwaitStep.
func (r *runner[S]) registerAwaitStep(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateAwaitStep,
		func(ctx workflow.Context, req AwaitRequest) (S, error) {
			err := workflow.Await(ctx, func() bool { return r.decided(req.Step) })
			return *r.state, err
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req AwaitRequest) error {
			if _, ok := r.def.step(req.Step); !ok {
				return fmt.Errorf("unknown step %q", req.Step)
			}
			return nil
		}},
	)
}

// decided reports whether step has an outcome, or the saga went past it.
func (r *runner[S]) decided(step string) bool {
	switch r.progress.Status {
	case StatusCompensating, StatusFailed, StatusCompensated, StatusCancelled, StatusCompleted:
		return true
	}
	switch r.progress.Step(step).Status {
	case StepPending, StepRunning:
		return false
	}
	return true
}

func (r *runner[S]) validateCancel(_ workflow.Context, _ string) error {
	switch st := r.progress.Status; {
	case r.cancelReason != "":
		return fmt.Errorf("%s is already being cancelled", r.def.noun())
	case r.pivotStarted:
		return fmt.Errorf("%s has started: the %s can no longer be cancelled", r.pivot().label(), r.def.noun())
	case st != StatusRunning && !r.gateStatus(st):
		return fmt.Errorf("%s is %s and can no longer be cancelled", r.def.noun(), st)
	}
	return nil
}

// gateStatus reports whether st is the status of one of the saga's gates.
func (r *runner[S]) gateStatus(st Status) bool {
	return slices.ContainsFunc(r.def.Steps, func(s Step[S]) bool { return s.Gate != nil && s.Gate.Status == st })
}

func (r *runner[S]) pivot() Step[S] {
	i := slices.IndexFunc(r.def.Steps, func(s Step[S]) bool { return s.Kind == Pivot })
	return r.def.Steps[i] // Validate: exactly one
}

func (r *runner[S]) run(ctx workflow.Context) (S, error) {
	if r.def.Start != nil {
		r.def.Start(ctx, r.state)
	}
	r.observeStarted(ctx)
	steps := r.def.Steps
	for i := 0; i < len(steps); i++ {
		step := steps[i]
		stepCtx := r.actx
		if step.Kind == Pivot && r.actx.Err() != nil {
			return r.abort(ctx, errCancelled)
		}
		if step.Kind != Compensatable {
			// From the pivot on, nothing may interrupt the saga.
			r.pivotStarted = true
			stepCtx, _ = workflow.NewDisconnectedContext(ctx)
		}
		group := startsTogether(steps[i:])
		if step.Kind == Retriable && r.changed(ctx, ChangeParallelRetriables) {
			group = retriableRun(steps[i:])
		}
		var err error
		if len(group) > 1 {
			err = r.runConcurrently(stepCtx, group)
		} else {
			err = r.runStep(stepCtx, step)
		}
		if err != nil {
			return r.abort(ctx, err)
		}
		i += len(group) - 1
	}
	r.setStatus(ctx, StatusCompleted)
	return *r.state, nil
}

// changed reports whether this saga runs with change: always, unless its
// definition decides it by a workflow.GetVersion marker.
func (r *runner[S]) changed(ctx workflow.Context, change Change) bool {
	if !slices.Contains(r.def.Markers, change) {
		return true
	}
	return workflow.GetVersion(ctx, string(change), workflow.DefaultVersion, 1) == 1
}

// startsTogether returns the first of steps and the steps right after it
// that start with it (WithPrevious).
func startsTogether[S any](steps []Step[S]) []Step[S] {
	n := 1
	for n < len(steps) && steps[n].WithPrevious {
		n++
	}
	return steps[:n]
}

// retriableRun returns the leading run of retriable steps of steps.
func retriableRun[S any](steps []Step[S]) []Step[S] {
	n := 0
	for n < len(steps) && steps[n].Kind == Retriable {
		n++
	}
	return steps[:n]
}

// runConcurrently runs steps concurrently and waits for all of them; it
// returns the first error in step order.
func (r *runner[S]) runConcurrently(ctx workflow.Context, steps []Step[S]) error {
	errs := make([]error, len(steps))
	wg := workflow.NewWaitGroup(ctx)
	for i, step := range steps {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			errs[i] = r.runStep(ctx, step)
		})
	}
	wg.Wait(ctx)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// errCancelled stands for a cancellation noticed between steps.
var errCancelled = temporal.NewCanceledError()

// keys returns the keys of step's bindings.
func (r *runner[S]) keys(step string) Keys { return Keys{workflowID: r.workflowID, step: step} }

// runStep runs one step's action and records its outcome.
func (r *runner[S]) runStep(ctx workflow.Context, step Step[S]) error {
	st := r.progress.Step(step.Name)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if step.Gate != nil {
		return r.await(ctx, step, st)
	}
	args := step.Do.input(r.state, r.keys(step.Name))
	result := step.Do.result()
	st.Status = StepRunning
	r.showDetails(ctx)
	start := workflow.Now(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              step.TaskQueue,
		StartToCloseTimeout:    step.Timeouts.StartToClose,
		ScheduleToCloseTimeout: step.Timeouts.ScheduleToClose,
		RetryPolicy:            step.Retry.Temporal(),
		Summary:                actionSummary(step.Name),
	})
	f := workflow.ExecuteActivity(actx, step.Action, args)
	if err := f.Get(ctx, result); err != nil {
		err = budgetError(step, err)
		st.Status = StepFailed
		st.LastError = errorMessage(err)
		st.ErrorType = errorType(err)
		st.Attempts = attemptsOnFailure(step, err)
		if !isBusinessFailure(step, err) {
			// The action may have taken effect: compensate it too. The
			// services' barriers make that safe if it did not.
			r.toCompensate = append(r.toCompensate, step)
		}
		r.observeStep(ctx, step.Name, start, st.Attempts, err)
		return err
	}
	st.Status = StepCompleted
	st.Attempts = attemptOf(ctx, f)
	r.toCompensate = append(r.toCompensate, step)
	step.Do.record(r.state, result)
	r.observeStep(ctx, step.Name, start, st.Attempts, nil)
	return nil
}

// setStatus changes the saga status, mirrors it into the status search
// attribute and the current details, and records a terminal one.
func (r *runner[S]) setStatus(ctx workflow.Context, status Status) {
	if r.progress.Status == status {
		return
	}
	r.progress.Status = status
	if r.def.StatusAttribute.GetName() != "" {
		if err := workflow.UpsertTypedSearchAttributes(ctx, r.def.StatusAttribute.ValueSet(string(status))); err != nil {
			workflow.GetLogger(ctx).Warn("upsert status search attribute failed", "status", status, "error", err)
		}
	}
	if status.Terminal() {
		r.observeEnded(ctx, status)
	}
	r.showDetails(ctx)
}
