package sagaclient_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// described is the Describe answer of saga order-o1 placed by client shop.
func described(t *testing.T, status enumspb.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
	owner, err := converter.GetDefaultDataConverter().ToPayload("shop")
	require.NoError(t, err)
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "order-o1", RunId: "run-1"},
		Status:    status,
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			workflows.ClientIDKey.GetName(): owner}},
	}}
}

// finishedSaga mocks a finished saga whose close event yields closeErr
// (nil: it completed with final as its result). No worker answers queries
// unless query is set.
func finishedSaga(t *testing.T, final workflows.State, closeErr error, query *workflows.State) *mocks.Client {
	c := &mocks.Client{}
	c.On("DescribeWorkflowExecution", mock.Anything, "order-o1", "").
		Return(described(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), nil)
	run := &mocks.WorkflowRun{}
	run.On("GetWithOptions", mock.Anything, mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		if closeErr == nil {
			*args.Get(1).(*workflows.State) = final
		}
	}).Return(closeErr)
	c.On("GetWorkflow", mock.Anything, "order-o1", "run-1").Return(run)
	if query != nil {
		v := &mocks.Value{}
		v.On("Get", mock.Anything).Run(func(args mock.Arguments) { *args.Get(0).(*workflows.State) = *query }).Return(nil)
		c.On("QueryWorkflow", mock.Anything, "order-o1", "", workflows.QueryState).Return(v, nil)
	}
	return c
}

// canceled is the error a canceled run's close event yields, with details
// as the workflow recorded them.
func canceled(t *testing.T, details any) error {
	p, err := converter.GetDefaultDataConverter().ToPayloads(details)
	require.NoError(t, err)
	return temporal.NewCanceledError(client.NewValues(p))
}

// TestFinishedSagaIsReadFromItsCloseEvent ensures a finished saga's state
// and owner come from its close event — a completed saga's result, a
// cancelled one's details — read once and then from memory, with no query
// (no worker needed); a saga whose close event holds no State is queried
// once.
func TestFinishedSagaIsReadFromItsCloseEvent(t *testing.T) {
	final := stateWith(nil)
	final.Status, final.ClientID = workflows.StatusCancelled, "shop"
	tests := map[string]struct {
		closeErr error
		query    *workflows.State
	}{
		"completed":                      {},
		"cancelled through Temporal":     {closeErr: canceled(t, final)},
		"cancelled before State details": {closeErr: canceled(t, "workflow cancelled"), query: &final},
		"terminated":                     {closeErr: &temporal.WorkflowExecutionError{}, query: &final},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := finishedSaga(t, final, tc.closeErr, tc.query)
			sagas := sagaclient.New(c)
			owner, err := sagas.Owner(context.Background(), "o1")
			require.NoError(t, err)
			require.Equal(t, "shop", owner)
			for range 3 {
				st, err := sagas.State(context.Background(), "o1")
				require.NoError(t, err)
				require.Equal(t, final, st)
				owner, err := sagas.Owner(context.Background(), "o1")
				require.NoError(t, err)
				require.Equal(t, "shop", owner)
			}
			queries := 0
			if tc.query != nil {
				queries = 1
			}
			c.AssertNumberOfCalls(t, "GetWorkflow", 1)
			c.AssertNumberOfCalls(t, "QueryWorkflow", queries)
			// One describe for Owner; one more only to query a saga whose
			// close event holds no State.
			c.AssertNumberOfCalls(t, "DescribeWorkflowExecution", 1+queries)
		})
	}
}

// TestFinishedSagasReadConcurrently reads one finished saga from many
// goroutines (run with -race): every reader gets its state.
func TestFinishedSagasReadConcurrently(t *testing.T) {
	final := stateWith(nil)
	final.Status = workflows.StatusCompleted
	sagas := sagaclient.New(finishedSaga(t, final, nil, nil))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				st, err := sagas.State(context.Background(), "o1")
				require.NoError(t, err)
				require.Equal(t, workflows.StatusCompleted, st.Status)
				_, err = sagas.Owner(context.Background(), "o1")
				require.NoError(t, err)
			}
		})
	}
	wg.Wait()
}
