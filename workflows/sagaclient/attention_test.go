package sagaclient_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"

	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// TestAttentionCountIsReusedForMaxAge: however often /metrics is fetched,
// visibility is counted at most once per MaxAge.
func TestAttentionCountIsReusedForMaxAge(t *testing.T) {
	var calls atomic.Int64
	c := &mocks.Client{}
	c.On("CountWorkflow", mock.Anything, mock.Anything).Return(
		func(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
			require.Equal(t, sagaclient.AttentionQuery, req.GetQuery())
			return &workflowservice.CountWorkflowExecutionsResponse{Count: calls.Add(1)}, nil
		})
	a := sagaclient.NewAttentionCollector(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.MaxAge = 2 * time.Second // long beside 20 scrapes, even on a loaded machine under -race
	want := func(n string) string {
		return "# HELP ordersaga_sagas_needing_attention Running sagas whose SagaStatus is FAILED: a compensation keeps failing past its bound (it keeps retrying).\n" +
			"# TYPE ordersaga_sagas_needing_attention gauge\nordersaga_sagas_needing_attention " + n + "\n"
	}
	for range 20 {
		require.NoError(t, testutil.CollectAndCompare(a, strings.NewReader(want("1"))))
	}
	require.EqualValues(t, 1, calls.Load(), "one count for 20 scrapes")
	time.Sleep(a.MaxAge + 100*time.Millisecond)
	require.NoError(t, testutil.CollectAndCompare(a, strings.NewReader(want("2"))), "counted again after MaxAge")
}
