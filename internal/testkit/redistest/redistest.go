// Package redistest connects tests to the real Redis they run against.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga/internal/redislua"
)

// URL is the Redis the tests use: $REDIS_URL, or the local default.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// New returns a client to URL() — or, in a subtest of OnCluster, to the
// shared Redis Cluster — and a fresh key prefix for the test. It fails the
// test, never skips it, when Redis is unreachable, and deletes every key
// under the prefix when the test ends.
func New(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	u := URLFor(t)
	rdb, err := redislua.NewClient(u)
	if err != nil {
		t.Fatalf("redistest: REDIS_URL %q: %v", u, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redistest: Redis at %s is unreachable (%v); start it: redis-server --daemonize yes", u, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "test-" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		if err := redislua.DeletePrefix(context.Background(), rdb, prefix); err != nil {
			t.Errorf("redistest: delete %s*: %v", prefix, err)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// URLFor is the Redis URL of t: the shared Redis Cluster's in a subtest of
// OnCluster, URL() otherwise.
func URLFor(t testing.TB) string {
	t.Helper()
	if inCluster(t) {
		return ClusterURL(t)
	}
	return URL()
}
