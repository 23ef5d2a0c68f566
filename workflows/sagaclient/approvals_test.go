package sagaclient_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"

	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// TestAwaitingApprovalCountsTheClientsWaitingSagas ensures the count asks
// visibility for the client's running sagas awaiting approval, quoted, and
// is reused for a burst of orders.
func TestAwaitingApprovalCountsTheClientsWaitingSagas(t *testing.T) {
	t.Parallel()
	c := &mocks.Client{}
	var queries []string
	c.On("CountWorkflow", mock.Anything, mock.Anything).Return(
		func(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
			queries = append(queries, req.GetQuery())
			return &workflowservice.CountWorkflowExecutionsResponse{Count: 7}, nil
		})
	s := sagaclient.New(c)
	for range 3 {
		n, err := s.AwaitingApproval(context.Background(), "shop's")
		require.NoError(t, err)
		require.EqualValues(t, 7, n)
	}
	require.Equal(t, []string{`WorkflowType = 'OrderFulfillment' AND ClientId = 'shop\'s' AND SagaStatus = 'AWAITING_APPROVAL' AND ExecutionStatus = 'Running'`},
		queries, "one count for the burst")
}
