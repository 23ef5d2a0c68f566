//go:build !slim

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/client"

	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/workers"
	"github.com/ordersaga/ordersaga/workflows"
)

// TestObservability runs one `ordersaga dev` with its spans recorded in
// memory, places a declined order (compensated) and a paid one, and checks
// what an operator sees: one trace per order from the HTTP request to the
// projector, the request log joined to it, every metric the Grafana
// dashboard queries, the saga in the Web UI, and the workers' pollers.
func TestObservability(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	otel.SetTracerProvider(tp) // what tracing-on does; run() leaves it without OTEL_* set
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		_ = tp.Shutdown(context.Background())
	})
	// The split topology, as production runs: in the single one every step
	// is dispatched eagerly, and the SDK records no activity
	// schedule-to-start latency, which the dashboard shows.
	s := startStack(t, "--log-level", "info", "--log-format", "json", "--topology", "split")

	code, body, hdr := s.doAs("", "POST", "/v1/orders", map[string]any{"customer_id": "cust-1",
		"items": []map[string]any{{"sku": "widget", "quantity": 1}}, "payment_token": "tok_declined"},
		"X-Request-ID", "declined-order-1")
	require.Equal(t, http.StatusAccepted, code, "%v", body)
	require.Equal(t, "declined-order-1", hdr.Get("X-Request-ID"))
	declined := body["order_id"].(string)
	completed := s.order("widget", 1, "tok_ok")
	s.await(declined, "COMPENSATED")
	s.await(completed, "COMPLETED")
	// The timeline holds every event: each was published and applied.
	s.eventTypes(declined, 5)

	t.Run("one trace per order, from the request to the projector", func(t *testing.T) {
		trace := orderTrace(t, spans, declined)
		for _, name := range []string{
			"POST /v1/orders", "StartWorkflow:OrderFulfillment", "RunWorkflow:OrderFulfillment",
			"RunActivity:CreateOrder", "RunActivity:AuthorizePayment", "RunActivity:ReleaseInventory",
			"publish order.created", "publish payment.declined", "publish order.cancelled",
			"process order.created", "process payment.declined", "process order.cancelled",
		} {
			_, ok := trace[name]
			require.True(t, ok, "the trace lacks %q; it has %v", name, slices.Sorted(maps.Keys(trace)))
		}
		require.Equal(t, trace["RunActivity:CreateOrder"].SpanContext.SpanID(), trace["publish order.created"].Parent.SpanID(),
			"the event's publication is a child of the activity that wrote it")
		require.Equal(t, trace["RunActivity:CreateOrder"].SpanContext.SpanID(), trace["process order.created"].Parent.SpanID(),
			"the projector's apply is a child of the activity that wrote the event")
		other := orderTrace(t, spans, completed)
		require.NotEqual(t, trace["POST /v1/orders"].SpanContext.TraceID(), other["POST /v1/orders"].SpanContext.TraceID())

		line := requestLog(t, s, "declined-order-1")
		require.Equal(t, "/v1/orders", line["route"])
		require.EqualValues(t, 202, line["status"])
		require.Equal(t, trace["POST /v1/orders"].SpanContext.TraceID().String(), line["trace_id"], "the request log names the trace")
	})

	t.Run("every metric the dashboard queries is exported", func(t *testing.T) {
		exported := exportedMetrics(t, s)
		queried := dashboardMetrics(t)
		require.NotEmpty(t, queried)
		for _, name := range queried {
			require.True(t, exported[name], "the dashboard queries %s, which /metrics does not show", name)
		}
	})

	t.Run("the Web UI shows the saga: summary, details and steps", func(t *testing.T) {
		b := startBrowser(t)
		base := "http://" + s.ui + "/namespaces/default/workflows"
		desc, err := dialStack(t, s).DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(declined), "")
		require.NoError(t, err)
		page := base + "/" + workflows.WorkflowID(declined) + "/" + desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		b.text(b.open(page+"/history"), 60*time.Second,
			"Order "+declined+": 1× widget",
			"action create_order", "action reserve_inventory", "action authorize_payment",
			"compensate reserve_inventory", "compensate create_order")
		b.text(b.open(page+"/user-metadata"), 30*time.Second,
			"Placed by anonymous", "COMPENSATED: payment declined", "Total: $25.00")
		undone := b.text(b.open(base+"?query="+url.QueryEscape(`SagaStatus IN ("COMPENSATED", "CANCELLED")`)), 30*time.Second,
			workflows.WorkflowID(declined))
		require.NotContains(t, undone, workflows.WorkflowID(completed), "the list of undone sagas leaves the paid one out")
	})

	t.Run("the workers' pollers are running", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := dialStack(t, s)
		all := []workers.Service{workers.OrchestratorService()}
		for _, s := range catalog {
			all = append(all, workers.Service{Name: s.name, TaskQueue: s.queue})
		}
		require.NoError(t, workers.PollersRunning(c, workers.Identity(), all)(ctx))
		err := workers.PollersRunning(c, "someone-else", []workers.Service{{Name: "payment", TaskQueue: workflows.TaskQueuePayment}})(ctx)
		require.ErrorContains(t, err, "no poller of someone-else on task queue "+workflows.TaskQueuePayment)
	})
}

// orderTrace returns the spans of the trace of orderID's saga, by name:
// the trace of its workflow's run.
func orderTrace(t *testing.T, spans *tracetest.InMemoryExporter, orderID string) map[string]tracetest.SpanStub {
	t.Helper()
	var id trace.TraceID
	for _, sp := range spans.GetSpans() {
		for _, a := range sp.Attributes {
			if sp.Name == "RunWorkflow:OrderFulfillment" && string(a.Key) == "temporalWorkflowID" && a.Value.AsString() == workflows.WorkflowID(orderID) {
				id = sp.SpanContext.TraceID()
			}
		}
	}
	require.True(t, id.IsValid(), "no workflow span of order %s", orderID)
	out := map[string]tracetest.SpanStub{}
	for _, sp := range spans.GetSpans() {
		if sp.SpanContext.TraceID() == id {
			out[sp.Name] = sp
		}
	}
	return out
}

// requestLog returns the request log line of the request with requestID.
func requestLog(t *testing.T, s *stack, requestID string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["request_id"] == requestID {
			return line
		}
	}
	t.Fatalf("no request log line with request_id %s", requestID)
	return nil
}

// exportedMetrics returns the sample names of the stack's /metrics (dev
// serves every role's metrics from one registry).
func exportedMetrics(t *testing.T, s *stack) map[string]bool {
	t.Helper()
	resp, err := http.Get("http://" + s.api + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	return names
}

// metricName matches the metric names in PromQL expressions: ours and the
// Temporal SDK's.
var metricName = regexp.MustCompile(`\b(?:ordersaga|temporal)_[a-z0-9_]+`)

// dashboardMetrics returns the metric names the provisioned Grafana
// dashboards query.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../deploy/grafana/dashboards/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var names []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var dash struct {
			Panels []struct {
				Targets []struct{ Expr string }
			}
		}
		require.NoError(t, json.Unmarshal(raw, &dash), f)
		for _, p := range dash.Panels {
			for _, target := range p.Targets {
				names = append(names, metricName.FindAllString(target.Expr, -1)...)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// dialStack returns a Temporal client of the stack's server, closed with
// the test.
func dialStack(t *testing.T, s *stack) client.Client {
	t.Helper()
	c, err := temporalclient.Dial(context.Background(), temporalclient.Config{Connection: temporalclient.Connection{Address: s.temporal, Namespace: "default", Plain: true}},
		slog.New(slog.NewTextHandler(io.Discard, nil)), 10*time.Second)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// TestDevTracesWithEachExporter: dev starts with OTEL_TRACES_EXPORTER set to
// each value the README documents — the embedded server no longer reads the
// caller's OTEL_* variables — and its spans go where they are told.
func TestDevTracesWithEachExporter(t *testing.T) {
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	placeOne := func(s *stack) {
		s.await(s.order("widget", 1, "tok_ok"), "COMPLETED")
		s.stop() // flushes the spans still buffered
	}

	t.Run("otlp", func(t *testing.T) {
		paths := make(chan string, 1000)
		collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			paths <- r.URL.Path
			w.Header().Set("Content-Type", "application/x-protobuf")
		}))
		defer collector.Close()
		t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
		placeOne(startStack(t))
		require.NotEmpty(t, paths, "no export reached the collector")
		require.Equal(t, "/v1/traces", <-paths)
	})

	t.Run("console", func(t *testing.T) {
		out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
		require.NoError(t, err)
		// The console exporter writes to the process's standard output:
		// point fd 1 at out meanwhile.
		saved, err := syscall.Dup(1)
		require.NoError(t, err)
		require.NoError(t, syscall.Dup3(int(out.Fd()), 1, 0))
		restore := sync.OnceFunc(func() { _ = syscall.Dup3(saved, 1, 0); _ = syscall.Close(saved) })
		defer restore()
		t.Setenv("OTEL_TRACES_EXPORTER", "console")
		placeOne(startStack(t))
		restore()
		raw, err := os.ReadFile(out.Name())
		require.NoError(t, err)
		for _, span := range []string{"POST /v1/orders", "RunWorkflow:OrderFulfillment", "publish order.created"} {
			require.True(t, strings.Contains(string(raw), `"Name":"`+span+`"`), "no %s span on stdout", span)
		}
	})

	t.Run("none", func(t *testing.T) {
		t.Setenv("OTEL_TRACES_EXPORTER", "none")
		placeOne(startStack(t))
	})
}
