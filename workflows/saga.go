package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/activities"
)

// errApprovalTimedOut ends a saga whose order was not approved in time.
var errApprovalTimedOut = errors.New("approval timed out")

// OrderFulfillment runs the order fulfillment saga described by Definition.
//
// It returns the final State. A business failure (out of stock, declined,
// approval timeout) or a cancel before the pivot compensates the completed
// steps in reverse order and still returns a State (COMPENSATED or
// CANCELLED) with a nil error; a Temporal cancellation request does the same
// but ends the workflow as canceled, with the final State as the canceled
// error's details. Cancellation after the pivot has started is ignored: the
// saga completes.
func OrderFulfillment(ctx workflow.Context, in Input) (State, error) {
	if in.Revision > Revision {
		// A starter newer than this worker: running the saga with older
		// code would record a history the newer workers cannot replay.
		// Panicking fails the workflow task, which Temporal retries until a
		// worker of that revision takes it.
		panic(fmt.Sprintf("saga of revision %d, but this worker runs revision %d: deploy the new workers before the starters", in.Revision, Revision))
	}
	s := newSaga(ctx, in, Definition())
	if err := s.register(ctx); err != nil {
		return s.state, err
	}
	return s.run(ctx)
}

// saga is the interpreter's state. Everything the workflow knows lives here.
type saga struct {
	in    Input
	opts  Options
	steps []Step
	state State

	workflowID string
	// pivotStarted is set when the pivot is scheduled; from then on the saga
	// cannot be cancelled.
	pivotStarted bool
	approved     bool
	// cancelReason is set by the cancel update.
	cancelReason string
	// actx is the context of the steps before the pivot; cancelActions
	// cancels it.
	actx          workflow.Context
	cancelActions workflow.CancelFunc
	// toCompensate lists, in execution order, the steps whose effects may
	// exist: completed ones and ones that ended without a definite answer.
	toCompensate []Step

	// comps are the compensations started, by step name.
	comps map[string]*compensation

	reservation activities.Reservation
	charge      activities.Charge

	// getVersion is workflow.GetVersion: every workflow change is guarded
	// through it.
	getVersion func(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version
}

func newSaga(ctx workflow.Context, in Input, steps []Step) *saga {
	s := &saga{
		in:         in,
		opts:       in.Options.withDefaults(),
		steps:      in.Options.withDefaults().applyTo(steps),
		workflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		comps:      map[string]*compensation{},
		getVersion: workflow.GetVersion,
		state: State{
			OrderID:    in.OrderID,
			ClientID:   in.ClientID,
			CustomerID: in.CustomerID,
			Status:     StatusRunning,
		},
	}
	for _, step := range steps {
		s.state.Steps = append(s.state.Steps, StepState{Name: step.Name, Kind: step.Kind, Status: StepPending})
	}
	return s
}

// register installs the query, update and signal handlers.
func (s *saga) register(ctx workflow.Context) error {
	s.actx, s.cancelActions = workflow.WithCancel(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return s.state, nil }); err != nil {
		return fmt.Errorf("register query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove,
		func(ctx workflow.Context, req ApproveRequest) error {
			s.approved = true
			s.state.ApprovedBy = req.By
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: s.validateApprove},
	); err != nil {
		return fmt.Errorf("register approve: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel,
		func(ctx workflow.Context, reason string) error {
			if reason == "" {
				reason = "cancelled on request"
			}
			s.cancelReason = reason
			s.cancelActions()
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: s.validateCancel},
	); err != nil {
		return fmt.Errorf("register cancel: %w", err)
	}
	if err := s.registerOperatorActions(ctx); err != nil {
		return err
	}
	approvals := workflow.GetSignalChannel(ctx, SignalApprove)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for approvals.Receive(ctx, nil) {
			if s.state.Status == StatusAwaitingApproval {
				s.approved = true
			}
		}
	})
	return nil
}

func (s *saga) validateApprove(workflow.Context, ApproveRequest) error {
	if s.state.Status != StatusAwaitingApproval {
		return fmt.Errorf("order is %s, not awaiting approval", s.state.Status)
	}
	return nil
}

func (s *saga) validateCancel(_ workflow.Context, _ string) error {
	switch {
	case s.cancelReason != "":
		return errors.New("order is already being cancelled")
	case s.pivotStarted:
		return errors.New("payment has started: the order can no longer be cancelled")
	case s.state.Status != StatusRunning && s.state.Status != StatusAwaitingApproval:
		return fmt.Errorf("order is %s and can no longer be cancelled", s.state.Status)
	}
	return nil
}

func (s *saga) run(ctx workflow.Context) (State, error) {
	s.ensureSearchAttributes(ctx)
	s.observeStarted(ctx)
	for i := 0; i < len(s.steps); i++ {
		step := s.steps[i]
		stepCtx := s.actx
		if step.Kind == Pivot && s.actx.Err() != nil {
			return s.abort(ctx, errCancelled)
		}
		if step.Kind != Compensatable {
			// From the pivot on, nothing may interrupt the saga.
			s.pivotStarted = true
			stepCtx, _ = workflow.NewDisconnectedContext(ctx)
		}
		if step.Kind == Retriable && s.parallelRetriables(ctx) {
			group := retriableRun(s.steps[i:])
			if err := s.runConcurrently(stepCtx, group); err != nil {
				return s.abort(ctx, err)
			}
			i += len(group) - 1
			continue
		}
		if group := startsTogether(s.steps[i:]); len(group) > 1 && s.concurrentStarts() {
			if err := s.runConcurrently(stepCtx, group); err != nil {
				return s.abort(ctx, err)
			}
			i += len(group) - 1
			continue
		}
		if err := s.runStep(stepCtx, step); err != nil {
			return s.abort(ctx, err)
		}
	}
	s.setStatus(ctx, StatusCompleted)
	return s.state, nil
}

// Workflow change IDs for workflow.GetVersion.
const (
	// changeParallelRetriables: version 1 runs the retriable steps after
	// the pivot concurrently (they depend only on the pivot); sagas started
	// before it run them one after the other.
	changeParallelRetriables = "parallel-retriable-steps"
)

// concurrentStarts reports whether this saga starts WithPrevious steps
// together with the step before them: from revision 1 on (sagas of
// revision 0 ran them one after the other).
func (s *saga) concurrentStarts() bool { return s.in.Revision >= 1 }

// startsTogether returns the first of steps and the steps right after it
// that start with it (WithPrevious).
func startsTogether(steps []Step) []Step {
	n := 1
	for n < len(steps) && steps[n].WithPrevious {
		n++
	}
	return steps[:n]
}

// parallelRetriables reports whether this saga runs its retriable steps
// concurrently: from revision 1 on always; before, as its marker says
// (histories recorded before the change replay sequentially).
func (s *saga) parallelRetriables(ctx workflow.Context) bool {
	return s.in.Revision >= 1 || s.getVersion(ctx, changeParallelRetriables, workflow.DefaultVersion, 1) == 1
}

// retriableRun returns the leading run of retriable steps of steps.
func retriableRun(steps []Step) []Step {
	n := 0
	for n < len(steps) && steps[n].Kind == Retriable {
		n++
	}
	return steps[:n]
}

// runConcurrently runs steps concurrently and waits for all of them; it
// returns the first error in step order.
func (s *saga) runConcurrently(ctx workflow.Context, steps []Step) error {
	errs := make([]error, len(steps))
	wg := workflow.NewWaitGroup(ctx)
	for i, step := range steps {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			errs[i] = s.runStep(ctx, step)
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

// runStep runs one step's action and records its outcome.
func (s *saga) runStep(ctx workflow.Context, step Step) error {
	st := s.state.step(step.Name)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	switch step.Runner {
	case RunApproval:
		return s.awaitApproval(ctx, st)
	case RunActivity:
	default:
		return fmt.Errorf("step %s: unknown runner %q", step.Name, step.Runner)
	}
	args, result, err := s.bind(step)
	if err != nil {
		return err
	}
	st.Status = StepRunning
	s.showDetails(ctx)
	start := workflow.Now(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              step.TaskQueue,
		StartToCloseTimeout:    step.Timeouts.StartToClose,
		ScheduleToCloseTimeout: step.Timeouts.ScheduleToClose,
		RetryPolicy:            step.Retry.Temporal(),
		Summary:                actionSummary(step.Name),
	})
	err = workflow.ExecuteActivity(actx, step.Action, args).Get(ctx, result)
	if err != nil {
		err = budgetError(step, err)
		st.Status = StepFailed
		st.LastError = errorMessage(err)
		st.Attempts = attemptsOnFailure(step, err)
		if !isBusinessFailure(step, err) {
			// The action may have taken effect: compensate it too. The
			// services' barriers make that safe if it did not.
			s.toCompensate = append(s.toCompensate, step)
		}
		s.observeStep(ctx, step.Name, start, st.Attempts, err)
		return err
	}
	st.Status = StepCompleted
	st.Attempts = attemptOf(result)
	s.toCompensate = append(s.toCompensate, step)
	s.recordResult(step)
	s.observeStep(ctx, step.Name, start, st.Attempts, nil)
	return nil
}

func (s *saga) awaitApproval(ctx workflow.Context, st *StepState) error {
	if s.opts.ApprovalThresholdCents < 0 || s.state.TotalCents < s.opts.ApprovalThresholdCents {
		st.Status = StepSkipped
		return nil
	}
	st.Status = StepRunning
	s.setStatus(ctx, StatusAwaitingApproval)
	start := workflow.Now(ctx)
	ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      s.opts.ApprovalTimeout,
		TimerOptions: workflow.TimerOptions{Summary: "approval deadline"},
	}, func() bool { return s.approved })
	if err == nil && !ok {
		st.LastError = fmt.Sprintf("no approval within %s", s.opts.ApprovalTimeout)
		err = errApprovalTimedOut
	}
	if err != nil {
		st.Status = StepFailed
		s.observeStep(ctx, st.Name, start, 1, err)
		return err
	}
	st.Status = StepCompleted
	s.observeStep(ctx, st.Name, start, 1, nil)
	s.setStatus(ctx, StatusRunning)
	return nil
}

// key is the idempotency key of a step's action and compensation.
func (s *saga) key(step string) string { return s.workflowID + "/" + step }

// setStatus changes the saga status, mirrors it into the SagaStatus search
// attribute and the current details, and records a terminal one.
func (s *saga) setStatus(ctx workflow.Context, status Status) {
	if s.state.Status == status {
		return
	}
	s.state.Status = status
	if err := workflow.UpsertTypedSearchAttributes(ctx, SagaStatusKey.ValueSet(string(status))); err != nil {
		workflow.GetLogger(ctx).Warn("upsert SagaStatus failed", "status", status, "error", err)
	}
	if status.Terminal() {
		s.observeEnded(ctx, status)
	}
	s.showDetails(ctx)
}

// ensureSearchAttributes sets the order ID and status when the starter did
// not (the API always does; a saga started from the CLI may not). The
// customer ID is left to the starter: search attributes are stored in clear,
// and only the starter knows whether to store a reference instead.
func (s *saga) ensureSearchAttributes(ctx workflow.Context) {
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(OrderIDKey); ok {
		return
	}
	err := workflow.UpsertTypedSearchAttributes(ctx,
		OrderIDKey.ValueSet(s.in.OrderID),
		SagaStatusKey.ValueSet(string(s.state.Status)),
	)
	if err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes failed", "error", err)
	}
}
