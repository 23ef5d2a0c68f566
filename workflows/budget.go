package workflows

import (
	"errors"
	"fmt"
	"slices"

	"go.temporal.io/sdk/temporal"
)

// applyTo returns a copy of steps shaped by the saga's options: the charge
// step's retry budget (its ScheduleToClose) is o.PaymentRetryBudget. o must
// have its defaults applied.
func (o Options) applyTo(steps []Step) []Step {
	steps = slices.Clone(steps)
	for i := range steps {
		if steps[i].Name == StepChargePayment {
			steps[i].Timeouts.ScheduleToClose = o.PaymentRetryBudget
		}
	}
	return steps
}

// errRetryBudgetSpent is the application error type of a step whose retry
// budget ran out: it ended without a definite answer.
const errRetryBudgetSpent = "RetryBudgetSpent"

// budgetError returns err, explained if it ended step because the step's
// retry budget ran out, so the step's last error and the saga's failure
// reason say so.
func budgetError(step Step, err error) error {
	if !budgetSpent(step, err) {
		return err
	}
	msg := fmt.Sprintf("retry budget of %s ran out without a definite answer; last error: %s",
		step.Timeouts.ScheduleToClose, errorMessage(err))
	return temporal.NewApplicationErrorWithCause(msg, errRetryBudgetSpent, err)
}

// budgetSpent reports whether err ended step because its ScheduleToClose ran
// out. Such a step retries without an attempt limit, so only a business
// failure, a non-retryable error or a cancellation ends it before its budget
// does. (The server reports RETRY_STATE_TIMEOUT then, but the SDK's test
// environment does not, so this does not rely on it.)
func budgetSpent(step Step, err error) bool {
	if step.Timeouts.ScheduleToClose <= 0 || step.Retry.MaximumAttempts != 0 ||
		isBusinessFailure(step, err) || temporal.IsCanceledError(err) {
		return false
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return false
	}
	var actErr *temporal.ActivityError
	return errors.As(err, &actErr)
}
