package sagaclient_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/saga"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// noAnswer is a start whose answer never came.
type noAnswer struct{}

func (noAnswer) Get(ctx context.Context) (client.WorkflowRun, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// awaitOn mocks c's Update-with-Start: update answers it, given the wait's
// context, and the options sent are recorded in sent.
func awaitOn(c *mocks.Client, sent *client.UpdateWithStartWorkflowOptions, start *client.StartWorkflowOptions,
	update func(ctx context.Context) (client.WorkflowUpdateHandle, error)) {
	c.On("NewWithStartWorkflowOperation", mock.Anything, workflows.WorkflowName, mock.Anything).Run(func(args mock.Arguments) {
		*start = args.Get(0).(client.StartWorkflowOptions)
	}).Return(noAnswer{})
	c.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(
		func(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
			*sent = o
			return update(ctx)
		})
}

// TestStartAwait ensures StartAwait starts with Update-with-Start — joining
// a running saga of the order, refusing to start an ended one again, and
// sending the await-step update under an ID fixed per step — and reports
// each outcome: decided with the update's state; an ended saga's final
// state; not decided once the wait runs out on a saga that exists; and
// EUNAVAILABLE when it is not known to exist.
func TestStartAwait(t *testing.T) {
	t.Parallel()
	for name, tc := range startAwaitCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := tc.client(t)
			var sent client.UpdateWithStartWorkflowOptions
			var start client.StartWorkflowOptions
			awaitOn(c, &sent, &start, tc.update)
			in := workflows.Input{OrderID: "o1", ClientID: "shop", CustomerID: "c-1", Items: []ordersaga.Item{{SKU: "a", Quantity: 1}}}
			begin := time.Now()
			got, err := sagaclient.New(c).StartAwait(context.Background(), in, workflows.StepReserveInventory, 200*time.Millisecond)
			require.Less(t, time.Since(begin), 2*time.Second)
			if tc.errCode != "" {
				require.Error(t, err)
				require.Equal(t, tc.errCode, ordersaga.ErrorCode(err), "%v", err)
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
			require.Equal(t, "order-o1", start.ID)
			require.Equal(t, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, start.WorkflowIDConflictPolicy)
			require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, start.WorkflowIDReusePolicy)
			require.Equal(t, saga.UpdateAwaitStep, sent.UpdateOptions.UpdateName)
			require.Equal(t, "await-step:reserve_inventory", sent.UpdateOptions.UpdateID)
			require.Equal(t, []any{saga.AwaitRequest{Step: workflows.StepReserveInventory}}, sent.UpdateOptions.Args)
			require.Equal(t, client.WorkflowUpdateStageCompleted, sent.UpdateOptions.WaitForStage)
		})
	}
}

// startAwaitCase is a Temporal (client) whose Update-with-Start answers
// update, and what StartAwait makes of it.
type startAwaitCase struct {
	client  func(t *testing.T) *mocks.Client
	update  func(ctx context.Context) (client.WorkflowUpdateHandle, error)
	want    sagaclient.Awaited
	errCode string
}

func startAwaitCases(t *testing.T) map[string]startAwaitCase {
	reserved := stateWith(nil)
	reserved.Status = workflows.StatusAwaitingApproval
	final := stateWith(nil)
	final.Status = workflows.StatusCompensated
	timeout := func(ctx context.Context) (client.WorkflowUpdateHandle, error) {
		<-ctx.Done()
		return nil, client.NewWorkflowUpdateServiceTimeoutOrCanceledError(ctx.Err())
	}
	return map[string]startAwaitCase{
		"decided": {
			client: func(*testing.T) *mocks.Client { return &mocks.Client{} },
			update: func(context.Context) (client.WorkflowUpdateHandle, error) {
				h := &mocks.WorkflowUpdateHandle{}
				h.On("Get", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
					*args.Get(1).(*workflows.State) = reserved
				}).Return(nil)
				return h, nil
			},
			want: sagaclient.Awaited{Decided: true, State: reserved},
		},
		"ended": {
			client: func(t *testing.T) *mocks.Client { return finishedSaga(t, final, nil, nil) },
			update: func(context.Context) (client.WorkflowUpdateHandle, error) {
				return nil, fmt.Errorf("failed workflow start: %w", serviceerror.NewWorkflowExecutionAlreadyStarted("closed", "", "run-1"))
			},
			want: sagaclient.Awaited{Decided: true, State: final},
		},
		"the wait runs out": {
			client: func(t *testing.T) *mocks.Client {
				c := &mocks.Client{}
				c.On("DescribeWorkflowExecution", mock.Anything, "order-o1", "").Return(described(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), nil)
				return c
			},
			update: timeout,
			want:   sagaclient.Awaited{},
		},
		"the wait runs out, no saga": {
			client: func(*testing.T) *mocks.Client {
				c := &mocks.Client{}
				c.On("DescribeWorkflowExecution", mock.Anything, "order-o1", "").Return(nil, serviceerror.NewNotFound("no such workflow"))
				return c
			},
			update:  timeout,
			errCode: ordersaga.EUNAVAILABLE,
		},
		"temporal unavailable": {
			client: func(*testing.T) *mocks.Client {
				c := &mocks.Client{}
				c.On("DescribeWorkflowExecution", mock.Anything, "order-o1", "").Return(nil, serviceerror.NewUnavailable("down"))
				return c
			},
			update: func(context.Context) (client.WorkflowUpdateHandle, error) {
				return nil, serviceerror.NewUnavailable("down")
			},
			errCode: ordersaga.EUNAVAILABLE,
		},
	}
}
