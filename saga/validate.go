package saga

import (
	"errors"
	"fmt"
	"slices"
)

// Validate reports every rule def breaks: unique step names; exactly one
// pivot, compensatable steps before it and retriable steps after it;
// retriable steps retried without limit and with nothing to compensate; a
// pivot bounded in total (a ScheduleToClose or MaximumAttempts: the saga
// must learn its answer, or give up and compensate, in bounded time);
// activity steps with a queue, an action, its binding, a timeout and a sane
// retry policy, and a compensation with its input; gates before the pivot,
// with an update, a timeout and a status of their own; dependencies on
// earlier steps only; WithPrevious only between activity steps of one kind.
func Validate[S any](def Definition[S]) error {
	steps := def.Steps
	if len(steps) == 0 {
		return errors.New("saga has no steps")
	}
	var errs []error
	bad := func(step Step[S], format string, args ...any) {
		errs = append(errs, fmt.Errorf("step %q: %s", step.Name, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	pivots := 0
	for i, step := range steps {
		if step.WithPrevious && (i == 0 || step.Gate != nil || steps[i-1].Gate != nil || steps[i-1].Kind != step.Kind) {
			bad(step, "starts with the previous step: both must be activity steps of the same kind")
		}
		if step.Name == "" {
			bad(step, "has no name")
		}
		if seen[step.Name] {
			bad(step, "name used twice")
		}
		for _, dep := range step.DependsOn {
			if !seen[dep] {
				bad(step, "depends on %q, which is not an earlier step", dep)
			}
		}
		seen[step.Name] = true
		if msg := kindRule(step, pivots); msg != "" {
			bad(step, "%s", msg)
		}
		if step.Kind == Pivot {
			pivots++
		}
		if step.Gate != nil {
			for _, msg := range gateRules(step) {
				bad(step, "%s", msg)
			}
			continue
		}
		for _, msg := range activityRules(step) {
			bad(step, "%s", msg)
		}
	}
	if pivots != 1 {
		errs = append(errs, fmt.Errorf("saga needs exactly one pivot step, has %d", pivots))
	}
	for _, m := range def.Markers {
		if m != ChangeParallelRetriables && m != ChangeIndependentCompensations {
			errs = append(errs, fmt.Errorf("unknown engine change %q in Markers", m))
		}
	}
	return errors.Join(errs...)
}

// kindRule checks step's kind against the pivots before it.
func kindRule[S any](step Step[S], pivotsBefore int) string {
	switch step.Kind {
	case Pivot:
		if step.Gate == nil && step.Timeouts.ScheduleToClose <= 0 && step.Retry.MaximumAttempts == 0 {
			return "pivot needs a bounded total: a ScheduleToClose (its retry budget) or MaximumAttempts"
		}
	case Compensatable:
		if pivotsBefore > 0 {
			return "compensatable step after the pivot"
		}
	case Retriable:
		switch {
		case pivotsBefore == 0:
			return "retriable step before the pivot"
		case step.Compensation != "":
			return "retriable step declares a compensation"
		case step.Retry.MaximumAttempts != 0:
			return fmt.Sprintf("retriable step must retry without limit (MaximumAttempts 0), has %d", step.Retry.MaximumAttempts)
		}
	default:
		return fmt.Sprintf("unknown kind %q", step.Kind)
	}
	return ""
}

func activityRules[S any](step Step[S]) []string {
	var out []string
	if step.TaskQueue == "" || step.Action == "" {
		out = append(out, "activity step needs a task queue and an action")
	}
	if step.Do.input == nil {
		out = append(out, "activity step needs its binding (Do: saga.Bind)")
	}
	if step.Compensation != "" && step.Undo == nil {
		out = append(out, "compensation needs its input (Undo: saga.Undo)")
	}
	if step.Timeouts.StartToClose <= 0 {
		out = append(out, "activity step needs a StartToClose timeout")
	}
	if p := step.Retry; p.BackoffCoefficient < 1 || p.InitialInterval <= 0 || p.MaximumInterval < p.InitialInterval || p.MaximumAttempts < 0 {
		out = append(out, "retry policy needs InitialInterval > 0, MaximumInterval >= InitialInterval, BackoffCoefficient >= 1, MaximumAttempts >= 0")
	}
	return out
}

func gateRules[S any](step Step[S]) []string {
	var out []string
	g := step.Gate
	if step.TaskQueue != "" || step.Action != "" || step.Compensation != "" {
		out = append(out, "gate runs in the workflow: no task queue, action or compensation")
	}
	if step.Kind != Compensatable {
		out = append(out, "gate must come before the pivot (kind compensatable)")
	}
	if g.Update == "" || g.Open.handlers == nil {
		out = append(out, "gate needs an update and its opener (saga.OpenWith)")
	}
	if g.Timeout <= 0 {
		out = append(out, "gate needs a timeout")
	}
	engine := []Status{StatusRunning, StatusCompleted, StatusCompensating, StatusCompensated, StatusCancelled, StatusFailed}
	if g.Status == "" || slices.Contains(engine, g.Status) {
		out = append(out, "gate needs a status of its own")
	}
	return out
}
