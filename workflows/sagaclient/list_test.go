package sagaclient_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// execution is a visibility record of saga id started at minute start and
// closed at minute end (negative: running).
func execution(t *testing.T, id string, start, end float64) *workflowpb.WorkflowExecutionInfo {
	at := func(m float64) *timestamppb.Timestamp {
		return timestamppb.New(t0.Add(time.Duration(m * float64(time.Minute))))
	}
	attrs := map[string]*commonpb.Payload{}
	for k, v := range map[string]string{"OrderId": id, "ClientId": "shop", "CustomerId": "cust-1", "SagaStatus": "COMPLETED"} {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		require.NoError(t, err)
		attrs[k] = p
	}
	e := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "order-" + id},
		StartTime: at(start), SearchAttributes: &commonpb.SearchAttributes{IndexedFields: attrs}}
	if end >= 0 {
		e.CloseTime = at(end)
	}
	return e
}

// visibility mocks Temporal's visibility: the running and the finished
// sagas in the order the SQL store returns them, and the queries asked.
func visibility(running, finished []*workflowpb.WorkflowExecutionInfo) (*mocks.Client, *[]string) {
	var queries []string
	c := &mocks.Client{}
	c.On("ListWorkflow", mock.Anything, mock.Anything).Return(
		func(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
			queries = append(queries, req.GetQuery())
			if strings.HasSuffix(req.GetQuery(), "ExecutionStatus = 'Running'") {
				return &workflowservice.ListWorkflowExecutionsResponse{Executions: running}, nil
			}
			return &workflowservice.ListWorkflowExecutionsResponse{Executions: finished}, nil
		})
	return c, &queries
}

func orderIDs(p sagaclient.Page) []string {
	var ids []string
	for _, o := range p.Orders {
		ids = append(ids, o.OrderID)
	}
	return ids
}

// TestListPagesNewestFirstByStartTime ensures List merges running sagas
// (in start order) and finished ones (in close order, as the SQL
// visibility store returns them) into pages ordered by start time, newest
// first, continued by its own token.
func TestListPagesNewestFirstByStartTime(t *testing.T) {
	c, _ := visibility(
		[]*workflowpb.WorkflowExecutionInfo{execution(t, "r5", 5, -1), execution(t, "r1", 1, -1)},
		[]*workflowpb.WorkflowExecutionInfo{execution(t, "c4", 4, 6), execution(t, "c3", 3, 3.5),
			execution(t, "c0", 0, 2.5), execution(t, "c2", 2, 2.2)})
	sagas := sagaclient.New(c)
	var got [][]string
	token := ""
	for {
		page, err := sagas.List(context.Background(), sagaclient.Filter{}, 2, token)
		require.NoError(t, err)
		got = append(got, orderIDs(page))
		if token = page.Next; token == "" {
			break
		}
	}
	require.Equal(t, [][]string{{"r5", "c4"}, {"c3", "c2"}, {"r1", "c0"}}, got)
}

// TestListQueryQuotesValues ensures filter values cannot change the
// visibility query's meaning: quotes and backslashes are escaped.
func TestListQueryQuotesValues(t *testing.T) {
	c, queries := visibility(nil, nil)
	sagas := sagaclient.New(c)
	_, err := sagas.List(context.Background(), sagaclient.Filter{ClientID: `o'neil\' OR ClientId != '`, CustomerID: "cust-1",
		Status: workflows.StatusCompleted}, 20, "")
	require.NoError(t, err)
	require.Equal(t, `WorkflowType = 'OrderFulfillment' AND ClientId = 'o\'neil\\\' OR ClientId != \'' AND CustomerId = 'cust-1' `+
		`AND SagaStatus = 'COMPLETED' AND ExecutionStatus = 'Running'`, (*queries)[0])

	sagas.CustomerRefs = func(id string) []string { return []string{"ref:" + id} }
	_, err = sagas.List(context.Background(), sagaclient.Filter{CustomerID: "cust-1"}, 20, "")
	require.NoError(t, err)
	require.Contains(t, (*queries)[2], "CustomerId = 'ref:cust-1'", "the filter matches the stored reference")

	// After a key rotation, sagas carry the reference of the key they
	// started under: any matches.
	sagas.CustomerRefs = func(id string) []string { return []string{"ref:new-" + id, "ref:old-" + id} }
	_, err = sagas.List(context.Background(), sagaclient.Filter{CustomerID: "cust-1"}, 20, "")
	require.NoError(t, err)
	require.Contains(t, (*queries)[4], "CustomerId IN ('ref:new-cust-1', 'ref:old-cust-1')")
}

func TestListRefusesForeignTokens(t *testing.T) {
	c, _ := visibility(nil, nil)
	sagas := sagaclient.New(c)
	crafted := func(start string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"s":"` + start + `","w":"order-x"}`))
	}
	for _, token := range []string{"not base64!", "e30", "eyJzIjoieCJ9", strings.Repeat("A", 300),
		crafted("9999-12-31T23:59:59-23:59"), // year 10000 in UTC, which the query cannot hold
		crafted("0000-01-01T00:00:00+01:00"), crafted("0001-01-01T00:00:00Z")} {
		_, err := sagas.List(context.Background(), sagaclient.Filter{}, 20, token)
		var e *ordersaga.Error
		require.ErrorAs(t, err, &e, token)
		require.Equal(t, ordersaga.EINVALID, e.Code)
		require.Equal(t, "page_token", e.Field)
	}
}

// TestListShowsAResetSagaOnce: after an operator's reset, visibility holds
// the terminated earlier run beside the current one; the listing shows the
// order once, as its current run, on whichever page.
func TestListShowsAResetSagaOnce(t *testing.T) {
	current := execution(t, "r5", 5, -1)
	current.Execution.RunId = "run-b"
	earlier := execution(t, "r5", 1, 4)
	earlier.Execution.RunId = "run-a"
	earlier.Status = enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
	other := execution(t, "c3", 3, 3.5)
	other.Execution.RunId = "run-c"
	c, _ := visibility([]*workflowpb.WorkflowExecutionInfo{current}, []*workflowpb.WorkflowExecutionInfo{earlier, other})
	c.On("DescribeWorkflowExecution", mock.Anything, "order-r5", "").Return(&workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "order-r5", RunId: "run-b"}}}, nil)
	sagas := sagaclient.New(c)

	all, err := sagas.List(context.Background(), sagaclient.Filter{}, 10, "")
	require.NoError(t, err)
	require.Equal(t, []string{"r5", "c3"}, orderIDs(all))
	require.Nil(t, all.Orders[0].CloseTime, "the current run, still running")

	var paged []string
	token := ""
	for {
		page, err := sagas.List(context.Background(), sagaclient.Filter{}, 1, token)
		require.NoError(t, err)
		paged = append(paged, orderIDs(page)...)
		if token = page.Next; token == "" {
			break
		}
	}
	require.Equal(t, []string{"r5", "c3"}, paged, "once across pages")
}
