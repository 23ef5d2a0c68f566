package saga

import (
	"errors"
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ErrRetryBudgetSpent is the application error type of a step whose retry
// budget (Timeouts.ScheduleToClose) ran out: it ended without a definite
// answer, so it is compensated.
const ErrRetryBudgetSpent = "RetryBudgetSpent"

// budgetError returns err, explained if it ended step because the step's
// retry budget ran out, so the step's last error and the saga's failure
// reason say so.
func budgetError[S any](step Step[S], err error) error {
	if !budgetSpent(step, err) {
		return err
	}
	msg := fmt.Sprintf("retry budget of %s ran out without a definite answer; last error: %s",
		step.Timeouts.ScheduleToClose, errorMessage(err))
	return temporal.NewApplicationErrorWithCause(msg, ErrRetryBudgetSpent, err)
}

// budgetSpent reports whether err ended step because its ScheduleToClose ran
// out. Such a step retries without an attempt limit, so only a business
// failure, a non-retryable error or a cancellation ends it before its budget
// does. (The server reports RETRY_STATE_TIMEOUT then, but the SDK's test
// environment does not, so this does not rely on it.)
func budgetSpent[S any](step Step[S], err error) bool {
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

// isBusinessFailure reports whether err is one of step's declared business
// failures: a definite "no" from the service, after which the step has no
// effect to compensate.
func isBusinessFailure[S any](step Step[S], err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return false
	}
	return slices.Contains(step.Retry.NonRetryableErrorTypes, appErr.Type())
}

// attempted is what the engine reads of an activity's result, or of a
// business failure's details (AttemptInterceptor): the attempt it came on.
type attempted struct {
	Attempt int32 `json:"attempt"`
}

// attemptOf reads the attempt a completed action's result carries (0 when
// it carries none).
func attemptOf(ctx workflow.Context, f workflow.Future) int32 {
	var a attempted
	if f.Get(ctx, &a) != nil {
		return 0
	}
	return a.Attempt
}

// attemptsOnFailure is what the workflow knows of a failed step's attempts:
// a retry-exhausted step used all of them; a business failure says on which
// attempt it came (AttemptInterceptor), or nothing (0) when its worker did
// not record it.
func attemptsOnFailure[S any](step Step[S], err error) int32 {
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) && actErr.RetryState() == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		return step.Retry.MaximumAttempts
	}
	return FailedAttempt(err)
}

// FailedAttempt returns the attempt a business failure ended on, when the
// activity's worker recorded it (AttemptInterceptor); 0 otherwise.
func FailedAttempt(err error) int32 {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.HasDetails() {
		return 0
	}
	var a attempted
	if appErr.Details(&a) != nil {
		return 0
	}
	return a.Attempt
}

// errorType is the application error type of err, "" if it has none.
func errorType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
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
