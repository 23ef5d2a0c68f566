package saga_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

func TestTripDefinitionIsValid(t *testing.T) {
	for rev := range 2 {
		require.NoError(t, saga.Validate(tripDefinition(rev, 0)))
	}
}

// The trip's steps: 0 book_flight, 1 book_hotel, 2 approval (a gate),
// 3 charge_card (the pivot), 4 send_itinerary (retriable).
func TestValidateRejectsBrokenDefinitions(t *testing.T) {
	tests := map[string]struct {
		edit func([]saga.Step[Trip]) []saga.Step[Trip]
		want string
	}{
		"first step starts with the previous one": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[0].WithPrevious = true; return s },
			want: "starts with the previous step",
		},
		"gate starts with the previous step": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[2].WithPrevious = true; return s },
			want: "starts with the previous step",
		},
		"compensatable after pivot": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[4].Kind = saga.Compensatable; return s },
			want: "compensatable step after the pivot",
		},
		"retriable before pivot": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] {
				s[1].Kind, s[1].Compensation, s[1].Retry.MaximumAttempts = saga.Retriable, "", 0
				return s
			},
			want: "retriable step before the pivot",
		},
		"retriable with a compensation": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[4].Compensation = "Unsend"; return s },
			want: "retriable step declares a compensation",
		},
		"two pivots": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[4].Kind = saga.Pivot; return s },
			want: "exactly one pivot step, has 2",
		},
		"no pivot": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { return s[:3] },
			want: "exactly one pivot step, has 0",
		},
		"retriable with limited attempts": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[4].Retry.MaximumAttempts = 3; return s },
			want: "must retry without limit",
		},
		"pivot without a bounded total": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] {
				s[3].Timeouts.ScheduleToClose, s[3].Retry.MaximumAttempts = 0, 0
				return s
			},
			want: "pivot needs a bounded total",
		},
		"duplicate name": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[1].Name = s[0].Name; return s },
			want: "name used twice",
		},
		"dependency on a later step": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[0].DependsOn = []string{"book_hotel"}; return s },
			want: `depends on "book_hotel", which is not an earlier step`,
		},
		"activity without queue": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[0].TaskQueue = ""; return s },
			want: "needs a task queue and an action",
		},
		"activity without binding": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[0].Do = saga.Binding[Trip]{}; return s },
			want: "needs its binding",
		},
		"compensation without input": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[0].Undo = nil; return s },
			want: "compensation needs its input",
		},
		"activity without timeout": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[0].Timeouts.StartToClose = 0; return s },
			want: "needs a StartToClose timeout",
		},
		"bad backoff": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[0].Retry.BackoffCoefficient = 0.5; return s },
			want: "BackoffCoefficient >= 1",
		},
		"gate with an action": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[2].Action = "Approve"; return s },
			want: "gate runs in the workflow",
		},
		"gate without timeout": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[2].Gate.Timeout = 0; return s },
			want: "gate needs a timeout",
		},
		"gate with an engine status": {
			edit: func(s []saga.Step[Trip]) []saga.Step[Trip] { s[2].Gate.Status = saga.StatusRunning; return s },
			want: "gate needs a status of its own",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			def := tripDefinition(1, 0)
			def.Steps = tc.edit(def.Steps)
			require.ErrorContains(t, saga.Validate(def), tc.want)
		})
	}
}

// An invalid definition ends the workflow, non-retryably, before any step
// runs.
func TestRunRefusesAnInvalidDefinition(t *testing.T) {
	a := &agency{}
	e := newTripEnv(t, a)
	e.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, req TripRequest) (Trip, error) {
		def := tripDefinition(1, 0)
		def.Steps = def.Steps[:2] // no pivot
		return saga.Run(ctx, def, &Trip{TripID: req.TripID})
	}, workflow.RegisterOptions{Name: "BrokenTrip"})
	e.env.ExecuteWorkflow("BrokenTrip", TripRequest{TripID: "bad"})
	require.True(t, e.env.IsWorkflowCompleted())
	require.ErrorContains(t, e.env.GetWorkflowError(), "exactly one pivot step, has 0")
	require.Empty(t, a.called())
}
