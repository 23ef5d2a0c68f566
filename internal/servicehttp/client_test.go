package servicehttp_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const token = "service-token-0123456789"

// service is a test service counting the requests that reach it; answer
// decides each one's answer from its 1-based number.
func service(t *testing.T, answer func(n int64, w http.ResponseWriter, r *http.Request)) (*servicehttp.Client, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(hits.Add(1), w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := servicehttp.NewClient(servicehttp.ClientConfig{Service: "test", BaseURL: srv.URL, Token: token,
		Timeout: 200 * time.Millisecond, BreakerFailures: 3, BreakerOpen: time.Hour}, quiet)
	require.NoError(t, err)
	return c, &hits
}

func problem(w http.ResponseWriter, r *http.Request, status int, code, detail, field string) {
	p := servicehttp.NewProblem(status, code, detail)
	p.Field = field
	servicehttp.WriteProblem(w, r, p)
}

func TestGetDecodesTheAnswerAndSendsTheToken(t *testing.T) {
	t.Parallel()
	c, _ := service(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer "+token, r.Header.Get("Authorization"))
		servicehttp.WriteJSON(w, 200, map[string]string{"sku": r.URL.Path})
	})
	var out struct{ SKU string }
	require.NoError(t, c.Get(context.Background(), "/stock/a", &out))
	require.Equal(t, "/stock/a", out.SKU)
}

// TestAnswersBecomeDomainErrors: the service's problems keep their code,
// message and field; failures are EUNAVAILABLE and name their cause.
func TestAnswersBecomeDomainErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		answer  func(w http.ResponseWriter, r *http.Request)
		code    string
		message string
		field   string
	}{
		"not found": {func(w http.ResponseWriter, r *http.Request) {
			problem(w, r, 404, ordersaga.ENOTFOUND, "sku \"a\" not found", "")
		}, ordersaga.ENOTFOUND, "sku \"a\" not found", ""},
		"invalid": {func(w http.ResponseWriter, r *http.Request) {
			problem(w, r, 400, ordersaga.EINVALID, "available must be between 0 and 9", "available")
		}, ordersaga.EINVALID, "available must be between 0 and 9", "available"},
		"server error": {func(w http.ResponseWriter, r *http.Request) {
			problem(w, r, 500, ordersaga.EINTERNAL, "internal error", "")
		}, ordersaga.EUNAVAILABLE, "test service unavailable: answered 500", ""},
		"slow": {func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}, ordersaga.EUNAVAILABLE, "test service unavailable: timed out", ""},
		"token refused": {func(w http.ResponseWriter, r *http.Request) {
			problem(w, r, 401, "unauthorized", "a valid service token is required", "")
		}, ordersaga.EINTERNAL, "", ""},
		"a 400 without a problem": {func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "400 Bad Request", http.StatusBadRequest)
		}, ordersaga.EINVALID, "test service: Bad Request", ""},
		"a redirect": {func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/", http.StatusTemporaryRedirect)
		}, ordersaga.EINTERNAL, "", ""},
		"a request built wrong": {func(w http.ResponseWriter, r *http.Request) {
			problem(w, r, 415, "unsupported_media_type", "the body must be application/json", "")
		}, ordersaga.EINTERNAL, "", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _ := service(t, func(_ int64, w http.ResponseWriter, r *http.Request) { tc.answer(w, r) })
			err := c.Get(context.Background(), "/x", nil)
			require.Equal(t, tc.code, ordersaga.ErrorCode(err), "%v", err)
			var e *ordersaga.Error
			if tc.message != "" {
				require.ErrorAs(t, err, &e)
				require.Equal(t, tc.message, e.Message)
				require.Equal(t, tc.field, e.Field)
			}
		})
	}
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := servicehttp.NewClient(servicehttp.ClientConfig{Service: "order", BaseURL: srv.URL}, quiet)
	require.NoError(t, err)
	err = c.Get(context.Background(), "/orders/o1", nil)
	var e *ordersaga.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, ordersaga.EUNAVAILABLE, e.Code)
	require.Equal(t, "order service unavailable: connection failed", e.Message, "the reason names no address")
}

func TestGetIsRetriedOncePutNever(t *testing.T) {
	t.Parallel()
	c, hits := service(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n%2 == 1 {
			problem(w, r, 503, ordersaga.EUNAVAILABLE, "busy", "")
			return
		}
		servicehttp.WriteJSON(w, 200, map[string]int{"n": int(n)})
	})
	var out struct{ N int }
	require.NoError(t, c.Get(context.Background(), "/x", &out), "the retry succeeds")
	require.Equal(t, 2, out.N)
	require.EqualValues(t, 2, hits.Load())

	err := c.Put(context.Background(), "/x", map[string]int{"a": 1}, &out)
	require.Equal(t, ordersaga.EUNAVAILABLE, ordersaga.ErrorCode(err), "a Put is sent once")
	require.EqualValues(t, 3, hits.Load())
}

func TestNotFoundIsNeitherRetriedNorAFailure(t *testing.T) {
	t.Parallel()
	c, hits := service(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		problem(w, r, 404, ordersaga.ENOTFOUND, "none", "")
	})
	for range 5 {
		require.Equal(t, ordersaga.ENOTFOUND, ordersaga.ErrorCode(c.Get(context.Background(), "/x", nil)))
	}
	require.EqualValues(t, 5, hits.Load(), "one request each, and the circuit stays closed")
}

// TestOpenCircuitFailsFastWithoutReachingTheService: after BreakerFailures
// failed attempts, calls fail at once and the service sees no more.
func TestOpenCircuitFailsFastWithoutReachingTheService(t *testing.T) {
	t.Parallel()
	c, hits := service(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		problem(w, r, 503, ordersaga.EUNAVAILABLE, "down", "")
	})
	require.Error(t, c.Get(context.Background(), "/x", nil)) // attempts 1 and 2
	require.Error(t, c.Get(context.Background(), "/x", nil)) // attempt 3 opens the circuit; no retry
	require.EqualValues(t, 3, hits.Load())
	for range 10 {
		err := c.Get(context.Background(), "/x", nil)
		require.Equal(t, ordersaga.EUNAVAILABLE, ordersaga.ErrorCode(err))
		require.ErrorContains(t, err, "test service unavailable: circuit open")
	}
	require.EqualValues(t, 3, hits.Load(), "an open circuit keeps calls off the service")
}

// TestCallersGivingUpDoNotOpenTheCircuit: calls cut short because their
// caller went away (a client hanging up on the gateway) are not the
// service's failures: a healthy service stays reachable.
func TestCallersGivingUpDoNotOpenTheCircuit(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	c, hits := service(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		_, _ = w.Write([]byte(`{}`))
	})
	for range 5 {
		// The caller gives up once its request has reached the service (a
		// deadline that could pass before would make the count a race).
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		err := c.Get(ctx, "/slow", nil)
		cancel()
		require.ErrorIs(t, err, context.Canceled)
		require.NotEqual(t, ordersaga.EUNAVAILABLE, ordersaga.ErrorCode(err), "the service did nothing wrong")
	}
	require.EqualValues(t, 5, hits.Load(), "no retry for a caller that is gone")
	require.NoError(t, c.Get(context.Background(), "/ok", nil), "the circuit stays closed")
}

// TestAPathTheServiceDoesNotServeIsNotAMissingRecord: a wrong service URL
// (another service, another version) answers its router's 404, which must
// not read as "no such record" (a silently empty part).
func TestAPathTheServiceDoesNotServeIsNotAMissingRecord(t *testing.T) {
	t.Parallel()
	r := servicehttp.NewRouter("", quiet)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c, err := servicehttp.NewClient(servicehttp.ClientConfig{Service: "payment", BaseURL: srv.URL}, quiet)
	require.NoError(t, err)
	err = c.Get(context.Background(), "/payments/o1", nil)
	require.Equal(t, ordersaga.EINTERNAL, ordersaga.ErrorCode(err), "%v", err)
	require.ErrorContains(t, err, "payment service answered 404")
	require.ErrorContains(t, err, "no such route")
}

func TestClientNeedsServiceAndURL(t *testing.T) {
	t.Parallel()
	_, err := servicehttp.NewClient(servicehttp.ClientConfig{Service: "order"}, quiet)
	require.ErrorContains(t, err, "Service and BaseURL are required")
}

// TestRedirectsAreNotFollowed is finding 4's other half: a service that
// redirected (as ServeMux did for /stock/..) had the client ask the
// redirect's target, whose 404 "no such route" became a 500. A redirect
// is not followed; the target is never asked.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	c, hits := service(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
	})
	err := c.Get(context.Background(), "/stock/..", nil)
	require.ErrorContains(t, err, `test service answered 301 (redirect to "/elsewhere")`)
	require.EqualValues(t, 1, hits.Load(), "the target was not asked")
}

// TestDotSKUsReachTheServiceAsValues: the client escapes "." and ".." so
// that they arrive as path values, which the service refuses as IDs: a
// 400 naming the field, not a redirect, not a 500.
func TestDotSKUsReachTheServiceAsValues(t *testing.T) {
	t.Parallel()
	r := servicehttp.NewRouter(token, quiet)
	r.Handle(http.MethodGet, "/stock/{sku}", servicehttp.Lookup("sku", func(_ context.Context, sku string) (string, error) { return sku, nil }))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c, err := servicehttp.NewClient(servicehttp.ClientConfig{Service: "inventory", BaseURL: srv.URL, Token: token}, quiet)
	require.NoError(t, err)
	for _, sku := range []string{".", ".."} {
		for _, path := range []string{"/stock/" + servicehttp.PathSegment(sku), "/stock/" + sku} {
			err := c.Get(context.Background(), path, nil)
			var e *ordersaga.Error
			require.ErrorAs(t, err, &e, path)
			require.Equal(t, ordersaga.EINVALID, e.Code, "%s: %v", path, err)
			require.Equal(t, "sku", e.Field)
		}
	}
	require.Equal(t, "%2E%2E", servicehttp.PathSegment(".."))
	require.Equal(t, "a%2Fb", servicehttp.PathSegment("a/b"))
}
