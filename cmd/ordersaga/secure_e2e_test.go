//go:build !slim

package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/devserver"
	"github.com/ordersaga/ordersaga/internal/temporalclient/securefrontend"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

const (
	secureWorkerKey   = "worker-key-0123456789"
	secureOperatorKey = "operator-key-0123456789"
)

// secured is a Temporal behind a secured frontend, and the files a client
// needs to reach it.
type secured struct {
	fe                           *securefrontend.Frontend
	ca, cert, key                string // the frontend's CA, a client certificate it accepts and its key
	rogueCA, rogueCert, rogueKey string // of a CA the frontend does not know
}

// startSecured starts an embedded Temporal server without the saga's
// search attributes behind a secured frontend (mTLS, bearer keys, no
// OperatorService for worker keys).
func startSecured(t *testing.T) secured {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devserver.Start(devserver.Config{UIPort: -1, Persistence: "sqlite-memory", Logger: log, FrontendPort: 0})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	dir := t.TempDir()
	ca, err := securefrontend.NewAuthority("ordersaga test CA")
	require.NoError(t, err)
	rogue, err := securefrontend.NewAuthority("rogue CA")
	require.NoError(t, err)
	fe, err := securefrontend.Start(securefrontend.Config{Backend: srv.FrontendAddress(), CA: ca,
		WorkerKeys: []string{secureWorkerKey}, OperatorKeys: []string{secureOperatorKey}})
	require.NoError(t, err)
	t.Cleanup(fe.Close)
	s := secured{fe: fe, ca: filepath.Join(dir, "ca.pem"), rogueCA: filepath.Join(dir, "rogue-ca.pem")}
	require.NoError(t, os.WriteFile(s.ca, ca.PEM, 0o600))
	require.NoError(t, os.WriteFile(s.rogueCA, rogue.PEM, 0o600))
	pair, err := ca.Issue("ordersaga-worker", false)
	require.NoError(t, err)
	s.cert, s.key, err = pair.Write(dir, "client")
	require.NoError(t, err)
	pair, err = rogue.Issue("ordersaga-worker", false)
	require.NoError(t, err)
	s.rogueCert, s.rogueKey, err = pair.Write(dir, "rogue-client")
	require.NoError(t, err)
	return s
}

// env sets the Temporal CLI's environment configuration for s with key,
// for the rest of the (sub)test.
func (s secured) env(t *testing.T, key string) {
	t.Setenv("TEMPORAL_ADDRESS", s.fe.Addr())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	t.Setenv("TEMPORAL_API_KEY", key)
	t.Setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", s.cert)
	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", s.key)
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", s.ca)
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", securefrontend.ServerName)
}

// runFor runs `ordersaga args...` until it returns or d passes, and
// returns its output, how long it ran and its error.
func runFor(t *testing.T, d time.Duration, args ...string) (string, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out syncBuffer
	start := time.Now()
	err := run(ctx, args, &out, &out)
	return out.String(), time.Since(start), err
}

// TestRolesOnASecuredTemporal runs the roles against a Temporal frontend
// that requires a client certificate and an API key and refuses the
// OperatorService to a worker's key: setup registers the search attributes
// with an operator key (read from a file), the roles start with the
// worker's key and never call the OperatorService, and each kind of
// refusal ends a role within seconds with one line saying which.
func TestRolesOnASecuredTemporal(t *testing.T) {
	s := startSecured(t)
	_, prefix := redistest.New(t)
	topo, _ := amqptest.Topology(t, prefix+"timeline")
	worker := func(httpAddr string) []string {
		return []string{"worker", "--http-addr", httpAddr, "--redis-url", redistest.URL(), "--redis-key-prefix", prefix,
			"--rabbitmq-url", amqptest.URL(), "--rabbitmq-exchange", topo.EventsExchange()}
	}
	api := func(addr string) []string {
		return []string{"api", "--api-addr", addr, "--redis-url", redistest.URL(), "--redis-key-prefix", prefix}
	}

	t.Run("a role started before setup names the missing attributes and setup", func(t *testing.T) {
		s.env(t, secureWorkerKey)
		for _, args := range [][]string{worker(freeAddr(t)), api(freeAddr(t))} {
			_, took, err := runFor(t, 30*time.Second, args...)
			require.Error(t, err, args[0])
			require.Contains(t, err.Error(), "lacks the search attributes ClientId, CustomerId, OrderId, SagaStatus: run `ordersaga setup`", args[0])
			require.NotContains(t, err.Error(), "\n")
			require.Less(t, took, 10*time.Second, args[0])
		}
	})

	t.Run("setup with a worker's key is refused", func(t *testing.T) {
		s.env(t, secureWorkerKey)
		_, _, err := runFor(t, 30*time.Second, "setup")
		require.ErrorContains(t, err, "may not register search attributes")
		require.ErrorContains(t, err, "with an operator credential")
	})

	t.Run("setup with an operator key from a file registers the attributes, once", func(t *testing.T) {
		s.env(t, "")
		os.Unsetenv("TEMPORAL_API_KEY")
		keyFile := filepath.Join(t.TempDir(), "api-key")
		require.NoError(t, os.WriteFile(keyFile, []byte(secureOperatorKey+"\n"), 0o600))
		t.Setenv("TEMPORAL_API_KEY_FILE", keyFile)
		out, _, err := runFor(t, 60*time.Second, "setup")
		require.NoError(t, err, out)
		require.Contains(t, out, "registered search attributes ClientId, CustomerId, OrderId, SagaStatus")
		out, _, err = runFor(t, 60*time.Second, "setup")
		require.NoError(t, err, out)
		require.Contains(t, out, "already registered; nothing to do")
	})

	t.Run("worker and api run on mTLS and a worker's key without the OperatorService", func(t *testing.T) {
		s.env(t, secureWorkerKey)
		before := s.fe.Calls("worker", securefrontend.OperatorService)
		workerHTTP, apiAddr := freeAddr(t), freeAddr(t)
		role(t, worker(workerHTTP)...)
		role(t, api(apiAddr)...)
		for _, u := range []string{"http://" + workerHTTP + "/readyz", "http://" + apiAddr + "/readyz"} {
			require.Eventually(t, func() bool {
				resp, err := http.Get(u)
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}, 60*time.Second, 200*time.Millisecond, u)
		}
		status, _, code := placeOrder(t, apiAddr)
		require.Equal(t, http.StatusAccepted, status, code)
		require.Equal(t, before, s.fe.Calls("worker", securefrontend.OperatorService), "no role called the OperatorService")
		require.Positive(t, s.fe.Calls("worker", "/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue"))
	})

	t.Run("each refusal ends a role within seconds in one line naming it", func(t *testing.T) {
		closed := freeAddr(t)
		for _, c := range []struct {
			name, want string
			env        map[string]string
		}{
			{"a wrong API key", "unauthenticated", map[string]string{"TEMPORAL_API_KEY": "wrong-key-0123456789"}},
			{"no client certificate", "TLS handshake", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_KEY_PATH": ""}},
			{"a client certificate of another CA", "TLS handshake", map[string]string{"TEMPORAL_TLS_CLIENT_CERT_PATH": s.rogueCert, "TEMPORAL_TLS_CLIENT_KEY_PATH": s.rogueKey}},
			{"a server certificate of an unknown CA", "TLS handshake", map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": s.rogueCA}},
			{"nothing listening", "unreachable", map[string]string{"TEMPORAL_ADDRESS": closed}},
		} {
			t.Run(c.name, func(t *testing.T) {
				s.env(t, secureWorkerKey)
				for k, v := range c.env {
					if v == "" {
						os.Unsetenv(k)
					} else {
						t.Setenv(k, v)
					}
				}
				_, took, err := runFor(t, 60*time.Second, worker(freeAddr(t))...)
				require.Error(t, err)
				line := err.Error()
				require.NotContains(t, line, "\n")
				require.Contains(t, line, "temporal at ")
				require.Contains(t, line, ": "+c.want+": ", line)
				require.NotContains(t, line, secureWorkerKey)
				require.Less(t, took, 12*time.Second, line)
				t.Logf("%s: refused in %s: %s", c.name, took.Round(time.Millisecond), line)
			})
		}
	})
}
