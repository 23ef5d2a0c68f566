package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/idempotency"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/workflows"
)

// crashChildEnv, set to a Redis key prefix, makes the test binary serve
// the API as a child process to be killed (crashChild) instead of running
// the tests.
const crashChildEnv = "ORDERSAGA_API_CRASH_CHILD"

func TestMain(m *testing.M) {
	if prefix := os.Getenv(crashChildEnv); prefix != "" {
		crashChild(prefix)
		return
	}
	os.Exit(m.Run())
}

// hangingSagas never finish starting a saga: each Start prints "entered"
// and blocks.
type hangingSagas struct{ fakeSagas }

func (h *hangingSagas) Start(ctx context.Context, _ workflows.Input) error {
	fmt.Println("entered")
	<-ctx.Done()
	select {} // as a process that hangs until it is killed
}

// crashChild serves the API with the real idempotency store under prefix,
// prints its address, and hangs in every saga start until it is killed.
func crashChild(prefix string) {
	opts, err := redis.ParseURL(redistest.URL())
	if err != nil {
		panic(err)
	}
	rdb := redis.NewClient(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	h := api.New(api.Config{RequestTimeout: time.Hour}, api.Deps{Sagas: &hangingSagas{}, Stock: fakeStock{}, Orders: noParts{},
		Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{},
		Idempotency: idempotency.NewStore(rdb, prefix, time.Hour, 0), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_ = http.Serve(ln, h)
}

// TestIdempotencyKeyFreedAfterACrash kills (SIGKILL) a process in the
// middle of a request with an Idempotency-Key, and retries it against a
// restarted API: the retry is refused as in flight at first (the dead
// request's lease has not lapsed) and succeeds within 10s of the kill.
func TestIdempotencyKeyFreedAfterACrash(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	prefix += "idem:"
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), crashChildEnv+"="+prefix)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan(), "the child prints its address")
	addr := lines.Text()

	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/orders", strings.NewReader(validOrder))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(api.IdempotencyKeyHeader, "k-crash")
		if resp, err := http.DefaultClient.Do(req); err == nil { // the child dies: no answer
			resp.Body.Close()
		}
	}()
	require.True(t, lines.Scan(), "the request reaches the saga start")
	require.Equal(t, "entered", lines.Text())
	time.Sleep(4 * time.Second) // the request runs a while: its lease is renewed
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	killed := time.Now()

	sagas := &countingSagas{orders: map[string]int{}}
	restarted := api.New(api.Config{}, api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{},
		Payments: noParts{}, Timeline: fakeTimeline{}, Idempotency: idempotency.NewStore(rdb, prefix, time.Hour, 0),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	first, p := send(t, restarted, "POST", "/v1/orders", validOrder, api.IdempotencyKeyHeader, "k-crash")
	require.Equal(t, http.StatusConflict, first.Code, "the dead request's lease still holds the key: %s", p.Detail)
	var retried time.Duration
	require.Eventually(t, func() bool {
		rec, _ := send(t, restarted, "POST", "/v1/orders", validOrder, api.IdempotencyKeyHeader, "k-crash")
		retried = time.Since(killed)
		return rec.Code == http.StatusAccepted
	}, 15*time.Second, 100*time.Millisecond)
	t.Logf("the retry succeeded %s after the kill", retried.Round(time.Millisecond))
	require.LessOrEqual(t, retried, idempotency.DefaultLease+500*time.Millisecond, "the key is free within one lease of the crash")
	require.Equal(t, 1, sagas.starts())
}

// TestLongRequestKeepsItsKey ensures a request running for several leases
// keeps its key in flight (its lease is renewed): a second request with the
// same key is still refused 409 long after the first lease would have
// lapsed.
func TestLongRequestKeepsItsKey(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	sagas := &countingSagas{orders: map[string]int{}, entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := api.New(api.Config{}, api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{},
		Payments: noParts{}, Timeline: fakeTimeline{}, Idempotency: idempotency.NewStore(rdb, prefix, time.Hour, time.Second),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan int)
	go func() {
		rec, _ := send(t, h, "POST", "/v1/orders", validOrder, api.IdempotencyKeyHeader, "k-long")
		done <- rec.Code
	}()
	<-sagas.entered
	time.Sleep(3500 * time.Millisecond) // more than three leases
	rec, _ := send(t, h, "POST", "/v1/orders", validOrder, api.IdempotencyKeyHeader, "k-long")
	require.Equal(t, http.StatusConflict, rec.Code, "the running request still holds its key")
	close(sagas.release)
	require.Equal(t, http.StatusAccepted, <-done)
	rec, _ = send(t, h, "POST", "/v1/orders", validOrder, api.IdempotencyKeyHeader, "k-long")
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, "true", rec.Header().Get("Idempotent-Replayed"))
}

// TestIdempotencyOnCluster runs the in-process idempotency test on a
// 3-master Redis Cluster.
func TestIdempotencyOnCluster(t *testing.T) {
	redistest.OnCluster(t, TestLongRequestKeepsItsKey)
}
