package redislua_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestDeletePrefixOnEveryMaster ensures DeletePrefix finds a prefix's keys
// on every master of a Redis Cluster, whatever their slots, and leaves
// other keys alone.
func TestDeletePrefixOnEveryMaster(t *testing.T) {
	ctx := context.Background()
	rdb, err := redislua.NewClient(redistest.ClusterURL(t))
	require.NoError(t, err)
	defer rdb.Close()
	for i := range 200 {
		require.NoError(t, rdb.Set(ctx, fmt.Sprintf("dp-test:{%d}:k", i), "x", 0).Err())
	}
	require.NoError(t, rdb.Set(ctx, "dp-other:k", "x", 0).Err())
	require.NoError(t, redislua.DeletePrefix(ctx, rdb, "dp-test:"))
	var left atomic.Int64 // fn runs on every master at once
	require.NoError(t, redislua.ForEachNode(ctx, rdb, func(ctx context.Context, node redis.Cmdable) error {
		keys, err := node.Keys(ctx, "dp-*").Result()
		left.Add(int64(len(keys)))
		return err
	}))
	require.EqualValues(t, 1, left.Load(), "only the other prefix's key is left")
}
