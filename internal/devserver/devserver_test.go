package devserver

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
)

// TestUIPassesItsTokenOnlyOverHTTPS: the Web UI does not call an http://
// codec endpoint at all when told to pass its access token, so the token is
// passed to https:// endpoints only.
func TestUIPassesItsTokenOnlyOverHTTPS(t *testing.T) {
	t.Parallel()
	for endpoint, pass := range map[string]bool{
		"":                                  false,
		"http://127.0.0.1:8234/capability":  false,
		"https://codec.example.com/decoder": true,
	} {
		c := uiConfig(Config{IP: "127.0.0.1", UIPort: 8233, Namespace: "default", UICodecEndpoint: endpoint}, "127.0.0.1:7233")
		require.Equal(t, endpoint, c.Codec.Endpoint)
		require.Equal(t, pass, c.Codec.PassAccessToken, endpoint)
		require.False(t, c.Codec.IncludeCredentials, "no cookies are sent to the codec server")
		require.Equal(t, "127.0.0.1:7233", c.TemporalGRPCAddress)
	}
}

// TestServerIgnoresTheCallersTracingEnvironment: the OTEL_* variables that
// configure the application's tracing name exporters the embedded server
// does not know (it knows only otlp); it starts all the same, its own
// tracing off.
func TestServerIgnoresTheCallersTracingEnvironment(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
	srv, err := Start(Config{Persistence: "sqlite-memory", UIPort: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	srv.Stop()
}

// A port the server cannot bind is an error naming it, not a crash: the
// server reports it through a fatal log call, which Start turns back into
// an error (and, for ports it picked itself, retries with new ones).
func TestTakenPortIsAnError(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	_, err = Start(Config{Persistence: "sqlite-memory", UIPort: -1, FrontendPort: port,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.ErrorContains(t, err, "address already in use")
}

// TestTasksAreWrittenToOnePartition: the server the embedded config makes
// writes every task queue's tasks to one partition and still reads four
// (the tasks an older data directory holds on partitions 1–3), and a
// --temporal-config override wins.
func TestTasksAreWrittenToOnePartition(t *testing.T) {
	t.Parallel()
	settings := func(overrides map[string]any) (write, read int) {
		c := dynamicconfig.NewCollection(dynamicConfig(overrides), log.NewNoopLogger())
		c.Start()
		defer c.Stop()
		write = dynamicconfig.MatchingNumTaskqueueWritePartitions.Get(c)("default", "ordersaga.orchestrator", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		read = dynamicconfig.MatchingNumTaskqueueReadPartitions.Get(c)("default", "ordersaga.payment", enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		return write, read
	}
	write, read := settings(nil)
	require.Equal(t, 1, write)
	require.Equal(t, 4, read)
	write, _ = settings(map[string]any{"matching.numTaskqueueWritePartitions": 4})
	require.Equal(t, 4, write)
}
