package workflows_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

func TestDefinitionIsValid(t *testing.T) {
	require.NoError(t, workflows.Validate(workflows.Definition()))
}

// TestDefinitionNamesRegisteredActivities ensures every action and
// compensation names a method of the service struct registered on the step's
// task queue.
func TestDefinitionNamesRegisteredActivities(t *testing.T) {
	services := map[string]any{
		workflows.TaskQueueOrder:     &activities.Order{},
		workflows.TaskQueueInventory: &activities.Inventory{},
		workflows.TaskQueuePayment:   &activities.Payment{},
	}
	for _, step := range workflows.Definition() {
		if step.Runner != workflows.RunActivity {
			continue
		}
		svc, ok := services[step.TaskQueue]
		require.True(t, ok, "step %s: unknown task queue %s", step.Name, step.TaskQueue)
		for _, name := range []string{step.Action, step.Compensation} {
			if name == "" {
				continue
			}
			_, ok := reflect.TypeOf(svc).MethodByName(name)
			require.True(t, ok, "step %s: %T has no activity %s", step.Name, svc, name)
		}
	}
}

func TestValidateRejectsBrokenDefinitions(t *testing.T) {
	tests := map[string]struct {
		edit func([]workflows.Step) []workflows.Step
		want string
	}{
		"first step starts with the previous one": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[0].WithPrevious = true
				return s
			},
			want: "starts with the previous step",
		},
		"approval starts with the previous step": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[2].WithPrevious = true
				return s
			},
			want: "starts with the previous step",
		},
		"compensatable after pivot": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[4].Kind = workflows.Compensatable
				return s
			},
			want: "compensatable step after the pivot",
		},
		"retriable before pivot": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[1].Kind = workflows.Retriable
				s[1].Compensation = ""
				s[1].Retry.MaximumAttempts = 0
				return s
			},
			want: "retriable step before the pivot",
		},
		"two pivots": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[4].Kind = workflows.Pivot
				return s
			},
			want: "exactly one pivot step, has 2",
		},
		"no pivot": {
			edit: func(s []workflows.Step) []workflows.Step { return s[:3] },
			want: "exactly one pivot step, has 0",
		},
		"retriable with limited attempts": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[5].Retry.MaximumAttempts = 3
				return s
			},
			want: "must retry without limit",
		},
		"pivot without a bounded total": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[3].Timeouts.ScheduleToClose = 0
				s[3].Retry.MaximumAttempts = 0
				return s
			},
			want: "pivot needs a bounded total",
		},
		"duplicate name": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[1].Name = s[0].Name
				return s
			},
			want: "name used twice",
		},
		"activity without queue": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[0].TaskQueue = ""
				return s
			},
			want: "needs a task queue and an action",
		},
		"activity without timeout": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[0].Timeouts.StartToClose = 0
				return s
			},
			want: "needs a StartToClose timeout",
		},
		"bad backoff": {
			edit: func(s []workflows.Step) []workflows.Step {
				s[0].Retry.BackoffCoefficient = 0.5
				return s
			},
			want: "BackoffCoefficient >= 1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := workflows.Validate(tc.edit(workflows.Definition()))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
