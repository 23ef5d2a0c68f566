package sagaclient_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// TestStateShowsLiveRetries ensures State shows the attempts and last error
// of the activity a saga is retrying (the server knows them as they happen,
// the workflow only when the activity ends): the charge while it rides out a
// provider outage, and a compensation that keeps failing.
func TestStateShowsLiveRetries(t *testing.T) {
	const circuitOpen = "charge order o1: payment provider unavailable: circuit open"
	tests := map[string]struct {
		statuses map[string]workflows.StepStatus
		pending  *workflowpb.PendingActivityInfo
		want     workflows.StepState
	}{
		"charge retrying": {
			statuses: map[string]workflows.StepStatus{workflows.StepChargePayment: workflows.StepRunning},
			pending:  pendingActivity(activities.ChargePaymentName, 7, circuitOpen),
			want: workflows.StepState{Name: workflows.StepChargePayment, Kind: workflows.Pivot, Status: workflows.StepRunning,
				Attempts: 7, LastError: circuitOpen},
		},
		"charge on its first attempt": {
			statuses: map[string]workflows.StepStatus{workflows.StepChargePayment: workflows.StepRunning},
			pending:  pendingActivity(activities.ChargePaymentName, 1, ""),
			want: workflows.StepState{Name: workflows.StepChargePayment, Kind: workflows.Pivot, Status: workflows.StepRunning,
				Attempts: 1},
		},
		"refund retrying": {
			statuses: map[string]workflows.StepStatus{workflows.StepChargePayment: workflows.StepCompensating},
			pending:  pendingActivity(activities.RefundPaymentName, 3, "refund order o1: payment provider unavailable: status 503"),
			want: workflows.StepState{Name: workflows.StepChargePayment, Kind: workflows.Pivot, Status: workflows.StepCompensating,
				CompensationAttempts: 3, CompensationError: "refund order o1: payment provider unavailable: status 503"},
		},
		"inventory release retrying": {
			statuses: map[string]workflows.StepStatus{workflows.StepReserveInventory: workflows.StepCompensating},
			pending:  pendingActivity(activities.ReleaseInventoryName, 4, "redis: connection refused"),
			want: workflows.StepState{Name: workflows.StepReserveInventory, Kind: workflows.Compensatable, Status: workflows.StepCompensating,
				CompensationAttempts: 4, CompensationError: "redis: connection refused"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := &mocks.Client{}
			c.On("DescribeWorkflowExecution", mock.Anything, "order-o1", "").Return(
				&workflowservice.DescribeWorkflowExecutionResponse{PendingActivities: []*workflowpb.PendingActivityInfo{tc.pending}}, nil)
			queried := stateWith(tc.statuses)
			v := &mocks.Value{}
			v.On("Get", mock.Anything).Run(func(args mock.Arguments) { *args.Get(0).(*workflows.State) = queried }).Return(nil)
			c.On("QueryWorkflow", mock.Anything, "order-o1", "", workflows.QueryState).Return(v, nil)

			st, err := sagaclient.New(c).State(context.Background(), "o1")
			require.NoError(t, err)
			for _, got := range st.Steps {
				if got.Name == tc.want.Name {
					require.Equal(t, tc.want, got)
				} else {
					require.Zero(t, got.Attempts+got.CompensationAttempts, "step %s", got.Name)
				}
			}
		})
	}
}

func pendingActivity(activityType string, attempt int32, lastFailure string) *workflowpb.PendingActivityInfo {
	pa := &workflowpb.PendingActivityInfo{ActivityType: &commonpb.ActivityType{Name: activityType}, Attempt: attempt}
	if lastFailure != "" {
		pa.LastFailure = &failurepb.Failure{Message: lastFailure}
	}
	return pa
}

// stateWith is a saga's queried state: every step pending unless statuses
// says otherwise.
func stateWith(statuses map[string]workflows.StepStatus) workflows.State {
	st := workflows.State{OrderID: "o1"}
	st.Status = workflows.StatusRunning
	for _, step := range workflows.Definition(workflows.Revision, workflows.Options{}).Steps {
		s := workflows.StepState{Name: step.Name, Kind: step.Kind, Status: workflows.StepPending}
		if v, ok := statuses[step.Name]; ok {
			s.Status = v
		}
		st.Steps = append(st.Steps, s)
	}
	return st
}
