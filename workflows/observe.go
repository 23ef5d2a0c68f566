package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Saga metrics. The workflow records them through the SDK's metrics handler
// (workflow.GetMetricsHandler), which records nothing while a workflow
// replays, so each saga event counts once in the usual case; again when the
// workflow task that recorded it is retried instead of completed (a worker
// dies, the task times out or fails). Labels are bounded: step names and
// outcomes, never order IDs.
const (
	// MetricSagasStarted counts sagas that started running.
	MetricSagasStarted = "ordersaga_sagas_started_total"
	// MetricSagasEnded counts ended sagas by outcome: completed,
	// compensated, cancelled.
	MetricSagasEnded = "ordersaga_sagas_ended_total"
	// MetricSagaDuration is the time from a saga's start to its end, by
	// outcome.
	MetricSagaDuration = "ordersaga_saga_duration_seconds"
	// MetricStepDuration is the time a step's action took, retries
	// included, by step and outcome (completed, failed).
	MetricStepDuration = "ordersaga_step_duration_seconds"
	// MetricStepAttempts counts the attempts of steps' actions, by step and
	// outcome.
	MetricStepAttempts = "ordersaga_step_attempts_total"
	// MetricCompensations counts ended compensations by step and outcome:
	// compensated, resolved (by an operator).
	MetricCompensations = "ordersaga_compensations_total"
	// MetricCompensationAttempts counts the attempts of compensations, by
	// step.
	MetricCompensationAttempts = "ordersaga_compensation_attempts_total"
)

// Outcomes of a step, as the metrics label them.
const (
	outcomeCompleted = "completed"
	outcomeFailed    = "failed"
)

// observeStarted counts the saga as started and shows its first details.
func (s *saga) observeStarted(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).Counter(MetricSagasStarted).Inc(1)
	s.showDetails(ctx)
}

// observeEnded records the end of the saga in status (a terminal one).
func (s *saga) observeEnded(ctx workflow.Context, status Status) {
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"outcome": strings.ToLower(string(status))})
	m.Counter(MetricSagasEnded).Inc(1)
	m.Timer(MetricSagaDuration).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
}

// observeStep records the end of a step's action that started at start.
func (s *saga) observeStep(ctx workflow.Context, step string, start time.Time, attempts int32, err error) {
	outcome := outcomeCompleted
	if err != nil {
		outcome = outcomeFailed
	}
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step": step, "outcome": outcome})
	m.Timer(MetricStepDuration).Record(workflow.Now(ctx).Sub(start))
	m.Counter(MetricStepAttempts).Inc(int64(max(attempts, 1)))
	s.showDetails(ctx)
}

// observeCompensation records the end of a step's compensation.
func (s *saga) observeCompensation(ctx workflow.Context, step string, st *StepState) {
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"step": step})
	m.Counter(MetricCompensationAttempts).Inc(int64(st.CompensationAttempts))
	m.WithTags(map[string]string{"outcome": string(st.Status)}).Counter(MetricCompensations).Inc(1)
	s.showDetails(ctx)
}

// showDetails shows the saga's current details in the Web UI and the CLI:
// its status, the steps in progress, its total and its failure reason.
// They are workflow metadata, not part of the history.
func (s *saga) showDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, Details(s.state))
}

// Details renders st as the saga's current details (Temporal markdown).
func Details(st State) string {
	out := "**" + string(st.Status) + "**"
	if st.FailureReason != "" {
		out += ": " + st.FailureReason
	}
	var doing []string
	for _, step := range st.Steps {
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
	if st.TotalCents > 0 {
		out += "\n\nTotal: " + money(st.TotalCents)
	}
	return out
}

// Summary is a saga's static summary in the Web UI's workflow page: its
// order and items (the total is known once the stock is reserved: see
// Details).
func Summary(in Input) string {
	const shown = 3
	items := make([]string, 0, shown)
	for i, it := range in.Items {
		if i == shown {
			items = append(items, fmt.Sprintf("+%d more", len(in.Items)-shown))
			break
		}
		items = append(items, fmt.Sprintf("%d× %s", it.Quantity, it.SKU))
	}
	return fmt.Sprintf("Order %s: %s", in.OrderID, strings.Join(items, ", "))
}

// StaticDetails are a saga's static details in the Web UI: every line of
// the order, and the client that placed it.
func StaticDetails(in Input) string {
	lines := []string{"| SKU | quantity |", "|---|---|"}
	for _, it := range in.Items {
		lines = append(lines, fmt.Sprintf("| %s | %d |", it.SKU, it.Quantity))
	}
	if in.ClientID != "" {
		lines = append(lines, "", "Placed by "+in.ClientID)
	}
	return strings.Join(lines, "\n")
}

// actionSummary and compensationSummary name an activity in the Web UI's
// timeline: the step, and whether it does or undoes it.
func actionSummary(step string) string       { return "action " + step }
func compensationSummary(step string) string { return "compensate " + step }

func money(cents int64) string {
	return fmt.Sprintf("$%d.%02d", cents/100, cents%100)
}
