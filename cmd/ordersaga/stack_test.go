//go:build !slim

package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestListenCutsOffSlowHeaders: a client that opens a connection and never
// finishes its headers is disconnected after the read-header timeout.
func TestListenCutsOffSlowHeaders(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv, err := listen("test", "127.0.0.1:0", ok, HTTPFlags{HTTPReadHeaderTimeout: timeout}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer srv.Shutdown(time.Second)

	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: test\r\nX-Slow: "))
	require.NoError(t, err)
	// Far longer than the timeout, far shorter than the 5s default: without
	// the timeout the read below hits this deadline instead of EOF.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(3*time.Second)))
	n, err := conn.Read(make([]byte, 512))
	elapsed := time.Since(start)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server kept the connection open for %s", elapsed)
	require.ErrorIs(t, err, io.EOF, "closed without an answer (%d bytes)", n)
	require.GreaterOrEqual(t, elapsed, timeout-50*time.Millisecond, "not before the timeout")

	// A client that sends its request in time is served.
	conn2, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer conn2.Close()
	_, err = conn2.Write([]byte("GET / HTTP/1.1\r\nHost: test\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn2), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func TestListenTimeouts(t *testing.T) {
	t.Parallel()
	srv, err := listen("test", "127.0.0.1:0", http.NotFoundHandler(), HTTPFlags{HTTPWriteTimeout: 42 * time.Second}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer srv.Shutdown(time.Second)
	require.Equal(t, 5*time.Second, srv.srv.ReadHeaderTimeout, "zero is the default")
	require.Equal(t, 10*time.Second, srv.srv.ReadTimeout)
	require.Equal(t, 42*time.Second, srv.srv.WriteTimeout, "as given")
	require.Equal(t, 2*time.Minute, srv.srv.IdleTimeout)
}

func TestWriteTimeoutMustOutlastTheHandlers(t *testing.T) {
	t.Parallel()
	require.NoError(t, HTTPFlags{}.allow("--api-request-timeout", 5*time.Second), "the defaults fit")
	require.NoError(t, HTTPFlags{}.allow("--provider-slow-delay", 3*time.Second))
	require.ErrorContains(t, HTTPFlags{HTTPWriteTimeout: 15 * time.Second}.allow("--api-request-timeout", 5*time.Second),
		"--http-write-timeout (15s) must exceed --http-read-timeout (10s) plus --api-request-timeout (5s) by at least 1s")
	require.NoError(t, HTTPFlags{HTTPReadTimeout: 2 * time.Second, HTTPWriteTimeout: 8 * time.Second}.allow("--api-request-timeout", 5*time.Second))

	err := run(context.Background(), []string{"dev", "--http-write-timeout", "3s"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "--http-write-timeout (3s) must exceed --http-read-timeout (10s) plus --api-request-timeout (5s)", "checked before anything starts")
	err = run(context.Background(), []string{"payment-provider", "--http-write-timeout", "25s", "--provider-slow-delay", "20s"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "plus --provider-slow-delay (20s)")
}
