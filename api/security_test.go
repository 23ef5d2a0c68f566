package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/idempotency"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/workflows"
)

// countingSagas counts starts, can be slowed down, and refuses a second
// start of the same order like Temporal's REJECT_DUPLICATE policy does.
type countingSagas struct {
	fakeSagas
	mu      sync.Mutex
	orders  map[string]int
	entered chan struct{}
	release chan struct{}
	running atomic.Int64
}

func (c *countingSagas) Start(ctx context.Context, in workflows.Input) error {
	if c.release != nil {
		if c.running.Add(1) > 1 {
			return errors.New("a second request ran while the first still held its key")
		}
		c.entered <- struct{}{}
		select {
		case <-c.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.orders[in.OrderID]++
	if c.orders[in.OrderID] > 1 {
		return ordersaga.Errorf(ordersaga.ECONFLICT, "a saga for this order already exists")
	}
	return nil
}

func (c *countingSagas) starts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.orders {
		if v > 0 {
			n++
		}
	}
	return n
}

func newSecureAPI(t *testing.T, sagas api.Sagas, rdb redis.Cmdable, auth api.Auth) http.Handler {
	t.Helper()
	var prefix string
	if rdb == nil {
		rdb, prefix = redistest.New(t)
	}
	return api.New(api.Config{MaxBodyBytes: 1024, RequestTimeout: 2 * time.Second, Auth: auth}, api.Deps{
		Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{},
		Idempotency: idempotency.NewStore(rdb, prefix+"idem:", time.Hour, time.Minute),
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func TestIdempotencyKeyReplaysTheFirstResponse(t *testing.T) {
	t.Parallel()
	sagas := &countingSagas{orders: map[string]int{}}
	h := newSecureAPI(t, sagas, nil, api.Auth{})
	first, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusAccepted, first.Code)
	again, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusAccepted, again.Code)
	require.Equal(t, first.Body.String(), again.Body.String(), "the stored response is replayed")
	require.Equal(t, first.Header().Get("Location"), again.Header().Get("Location"))
	require.Equal(t, "true", again.Header().Get("Idempotent-Replayed"))
	require.Equal(t, 1, sagas.starts())

	other, p := send(t, h, "POST", "/v1/orders", strings.Replace(validOrder, `"quantity":2`, `"quantity":3`, 1), "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusUnprocessableEntity, other.Code, "same key, different body")
	require.Contains(t, p.Detail, "different request")

	fresh, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k-2")
	require.Equal(t, http.StatusAccepted, fresh.Code)
	require.NotEqual(t, first.Body.String(), fresh.Body.String())
	require.Equal(t, 2, sagas.starts())
}

func TestIdempotencyKeyInFlightIs409(t *testing.T) {
	t.Parallel()
	sagas := &countingSagas{orders: map[string]int{}, entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := newSecureAPI(t, sagas, nil, api.Auth{})
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		rec, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "slow")
		done <- rec
	}()
	<-sagas.entered // the first request holds the key and is starting the saga
	rec, p := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "slow")
	require.Equal(t, http.StatusConflict, rec.Code)
	require.Contains(t, p.Detail, "still in progress")
	close(sagas.release)
	require.Equal(t, http.StatusAccepted, (<-done).Code)
}

// TestKeyLostFromRedisStillStartsOneSaga: the order ID derives from the key
// and the order, so a retry after the record was lost finds the saga
// already started and answers as the first did.
func TestKeyLostFromRedisStillStartsOneSaga(t *testing.T) {
	t.Parallel()
	sagas := &countingSagas{orders: map[string]int{}}
	rdb, prefix := redistest.New(t)
	h := api.New(api.Config{}, api.Deps{Sagas: sagas, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{}, Payments: noParts{}, Timeline: fakeTimeline{},
		Idempotency: idempotency.NewStore(rdb, prefix+"idem:", time.Hour, time.Minute), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	first, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k")
	require.Equal(t, http.StatusAccepted, first.Code)
	forget := func() {
		iter := rdb.Scan(context.Background(), 0, prefix+"idem:*", 100).Iterator()
		for iter.Next(context.Background()) {
			rdb.Del(context.Background(), iter.Val())
		}
	}
	forget()
	again, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k")
	require.Equal(t, http.StatusAccepted, again.Code)
	require.Equal(t, first.Body.String(), again.Body.String())
	require.Equal(t, 1, sagas.starts())

	// The same order spelled otherwise is the same order.
	forget()
	respaced, _ := send(t, h, "POST", "/v1/orders", " "+strings.ReplaceAll(validOrder, ",", " ,\n"), "Idempotency-Key", "k")
	require.Equal(t, first.Body.String(), respaced.Body.String())
	require.Equal(t, 1, sagas.starts())

	// The key reused for another order once its record is gone (expired)
	// places that order; it is not answered with the old one.
	forget()
	other, _ := send(t, h, "POST", "/v1/orders", strings.Replace(validOrder, `"quantity":2`, `"quantity":3`, 1), "Idempotency-Key", "k")
	require.Equal(t, http.StatusAccepted, other.Code)
	require.NotEqual(t, first.Header().Get("Location"), other.Header().Get("Location"))
	require.Equal(t, 2, sagas.starts())
}

func TestIdempotencyFailsClosedWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	broken := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = broken.Close() })
	sagas := &countingSagas{orders: map[string]int{}}
	h := newSecureAPI(t, sagas, broken, api.Auth{})
	rec, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.NotEmpty(t, rec.Header().Get("Retry-After"))
	require.Zero(t, sagas.starts(), "no saga starts when the key cannot be checked")
}

func TestIdempotencyKeysAreScopedPerClient(t *testing.T) {
	t.Parallel()
	sagas := &countingSagas{orders: map[string]int{}}
	auth := api.Auth{Keys: map[string]string{"key-of-alice-123456": "alice", "key-of-bob-1234567": "bob"}}
	h := newSecureAPI(t, sagas, nil, auth)
	a, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "same", "Authorization", "Bearer key-of-alice-123456")
	b, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "same", "Authorization", "Bearer key-of-bob-1234567")
	require.Equal(t, http.StatusAccepted, a.Code)
	require.Equal(t, http.StatusAccepted, b.Code)
	require.NotEqual(t, a.Body.String(), b.Body.String())
	require.Equal(t, 2, sagas.starts())
}

// panickingSagas panics on its first Start.
type panickingSagas struct {
	countingSagas
	panicked bool
}

func (p *panickingSagas) Start(ctx context.Context, in workflows.Input) error {
	p.mu.Lock()
	first := !p.panicked
	p.panicked = true
	p.mu.Unlock()
	if first {
		panic("boom")
	}
	return p.countingSagas.Start(ctx, in)
}

// TestPanicFreesTheIdempotencyKey: a request whose handler panicked (500)
// leaves its key free for the retry at once, not "in flight" until the
// claim expires.
func TestPanicFreesTheIdempotencyKey(t *testing.T) {
	t.Parallel()
	sagas := &panickingSagas{countingSagas: countingSagas{orders: map[string]int{}}}
	h := newSecureAPI(t, sagas, nil, api.Auth{})
	first, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k-panic")
	require.Equal(t, http.StatusInternalServerError, first.Code)
	retry, _ := send(t, h, "POST", "/v1/orders", validOrder, "Idempotency-Key", "k-panic")
	require.Equal(t, http.StatusAccepted, retry.Code, retry.Body.String())
	require.Equal(t, 1, sagas.starts())
}
