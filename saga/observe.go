package saga

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Saga metrics, named Definition.MetricPrefix + the names below. The engine
// records them through the SDK's metrics handler
// (workflow.GetMetricsHandler), which records nothing while a workflow
// replays, so each saga event counts once in the usual case; again when the
// workflow task that recorded it is retried instead of completed (a worker
// dies, the task times out or fails). Labels are bounded: step names and
// outcomes, never IDs.
const (
	// MetricSagasStarted counts sagas that started running.
	MetricSagasStarted = "sagas_started_total"
	// MetricSagasEnded counts ended sagas by outcome: completed,
	// compensated, cancelled.
	MetricSagasEnded = "sagas_ended_total"
	// MetricSagaDuration is the time from a saga's start to its end, by
	// outcome.
	MetricSagaDuration = "saga_duration_seconds"
	// MetricStepDuration is the time a step's action took, retries
	// included, by step and outcome (completed, failed).
	MetricStepDuration = "step_duration_seconds"
	// MetricStepAttempts counts the attempts of steps' actions, by step and
	// outcome.
	MetricStepAttempts = "step_attempts_total"
	// MetricCompensations counts ended compensations by step and outcome:
	// compensated, resolved (by an operator).
	MetricCompensations = "compensations_total"
	// MetricCompensationAttempts counts the attempts of compensations, by
	// step.
	MetricCompensationAttempts = "compensation_attempts_total"
)

// observeStarted counts the saga as started and shows its first details.
func (r *runner[S]) observeStarted(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).Counter(r.def.metric(MetricSagasStarted)).Inc(1)
	r.showDetails(ctx)
}

// observeEnded records the end of the saga in status (a terminal one).
func (r *runner[S]) observeEnded(ctx workflow.Context, status Status) {
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"outcome": strings.ToLower(string(status))})
	m.Counter(r.def.metric(MetricSagasEnded)).Inc(1)
	m.Timer(r.def.metric(MetricSagaDuration)).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
}

// observeStep records the end of a step's action that started at start.
func (r *runner[S]) observeStep(ctx workflow.Context, step string, start time.Time, attempts int32, err error) {
	outcome := "completed"
	if err != nil {
		outcome = "failed"
	}
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step": step, "outcome": outcome})
	m.Timer(r.def.metric(MetricStepDuration)).Record(workflow.Now(ctx).Sub(start))
	m.Counter(r.def.metric(MetricStepAttempts)).Inc(int64(max(attempts, 1)))
	r.showDetails(ctx)
}

// observeCompensation records the end of a step's compensation.
func (r *runner[S]) observeCompensation(ctx workflow.Context, step string, st *StepState) {
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step": step})
	m.Counter(r.def.metric(MetricCompensationAttempts)).Inc(int64(st.CompensationAttempts))
	m.WithTags(map[string]string{"outcome": string(st.Status)}).Counter(r.def.metric(MetricCompensations)).Inc(1)
	r.showDetails(ctx)
}

// showDetails shows the saga's current details in the Web UI and the CLI.
// They are workflow metadata, not part of the history.
func (r *runner[S]) showDetails(ctx workflow.Context) {
	extra := ""
	if r.def.Details != nil {
		extra = r.def.Details(r.state)
	}
	workflow.SetCurrentDetails(ctx, Details(r.progress, extra))
}

// Details renders a saga's current details (Temporal markdown): its status
// and failure reason, the steps in progress, then extra (a paragraph of the
// saga's own, if not empty).
func Details(p *Progress, extra string) string {
	out := "**" + string(p.Status) + "**"
	if p.FailureReason != "" {
		out += ": " + p.FailureReason
	}
	var doing []string
	for _, step := range p.Steps {
		switch step.Status {
		case StepRunning:
			doing = append(doing, actionSummary(step.Name))
		case StepCompensating:
			doing = append(doing, compensationSummary(step.Name))
		}
	}
	if len(doing) > 0 {
		out += "\n\nIn progress: " + strings.Join(doing, ", ")
	}
	if extra != "" {
		out += "\n\n" + extra
	}
	return out
}

// actionSummary and compensationSummary name an activity in the Web UI's
// timeline: the step, and whether it does or undoes it.
func actionSummary(step string) string       { return "action " + step }
func compensationSummary(step string) string { return "compensate " + step }
