package sagaclient

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/ordersaga/ordersaga/internal/ttlcache"
	"github.com/ordersaga/ordersaga/workflows"
)

// awaitingTTL is how long a client's count of orders awaiting approval is
// reused: a burst of orders from one client costs one visibility count a
// second.
const awaitingTTL = time.Second

// awaitingCache keeps each client's count for awaitingTTL.
type awaitingCache = ttlcache.Cache[string, int64]

func newAwaitingCache() *awaitingCache { return ttlcache.New[string, int64](10_000, awaitingTTL) }

// awaitingQuery selects client's running sagas awaiting an approval.
func awaitingQuery(client string) string {
	return "WorkflowType = " + quote(workflows.WorkflowName) +
		" AND " + workflows.ClientIDKey.GetName() + " = " + quote(client) +
		" AND " + workflows.SagaStatusKey.GetName() + " = " + quote(string(workflows.StatusAwaitingApproval)) +
		" AND ExecutionStatus = 'Running'"
}

// AwaitingApproval returns how many of client's orders await an approval,
// as Temporal's visibility counts them (their SagaStatus search attribute,
// set when the saga starts waiting): eventually consistent, and reused for
// up to a second.
func (s *Client) AwaitingApproval(ctx context.Context, client string) (int64, error) {
	if n, ok := s.awaiting.Get(client); ok {
		return n, nil
	}
	resp, err := s.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: awaitingQuery(client)})
	if err != nil {
		return 0, domainError(fmt.Sprintf("count orders of %s awaiting approval", client), err)
	}
	s.awaiting.Put(client, resp.GetCount())
	return resp.GetCount(), nil
}
