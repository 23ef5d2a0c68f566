package redislua

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// waits holds the wait_replicas option of the clients NewClient made.
var waits sync.Map // redis.UniversalClient → wait

// WaitReplicas returns the number of replicas rdb's URL asked writes to
// reach (wait_replicas=N; 0: none).
func WaitReplicas(rdb redis.Cmdable) int {
	if w, ok := waits.Load(rdb); ok {
		return w.(wait).replicas
	}
	return 0
}

// Run runs script with keys and args on rdb, as script.Run does. When
// rdb's URL says wait_replicas=N, Run then sends WAIT N on the connection
// that ran the script, on the master of keys[0]'s slot: the script's writes
// are on N replicas when Run returns. A WAIT that counts fewer replicas
// before wait_timeout is an error (retryable: the scripts are idempotent,
// and a repeat after a failover writes again what the promoted replica
// lacks); the script's own result is then lost to the caller.
//
// On a Redis Cluster, an error that may mean the slot has a new master (no
// answer, a redirection) makes the client reload the cluster's slot map, so
// the caller's retry finds the promoted replica: go-redis reloads it on a
// redirection only.
func Run(ctx context.Context, rdb redis.Cmdable, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	var cmd *redis.Cmd
	if w, ok := waits.Load(rdb); ok {
		cmd = runWait(ctx, rdb, w.(wait), script, keys, args)
	} else {
		cmd = script.Run(ctx, rdb, keys, args...)
	}
	if cc, isCluster := rdb.(*redis.ClusterClient); isCluster && cmd.Err() != nil && stale(cmd.Err()) {
		cc.ReloadState(ctx)
	}
	return cmd
}

func runWait(ctx context.Context, rdb redis.Cmdable, w wait, script *redis.Script, keys []string, args []any) *redis.Cmd {
	node, ok := rdb.(*redis.Client)
	if cc, isCluster := rdb.(*redis.ClusterClient); isCluster {
		c, err := cc.MasterForKey(ctx, keys[0])
		if err != nil {
			return errCmd(ctx, fmt.Errorf("master of %s: %w", keys[0], err))
		}
		node, ok = c, true
	}
	if !ok {
		return script.Run(ctx, rdb, keys, args...)
	}
	conn := node.Conn()
	defer conn.Close()
	cmd := script.Run(ctx, conn, keys, args...)
	if cmd.Err() != nil {
		return cmd
	}
	n, err := conn.Wait(ctx, w.replicas, w.timeout).Result()
	if err != nil {
		return errCmd(ctx, fmt.Errorf("wait for %d replicas: %w", w.replicas, err))
	}
	if int(n) < w.replicas {
		return errCmd(ctx, fmt.Errorf("write reached %d of %d replicas within %s", n, w.replicas, w.timeout))
	}
	return cmd
}

// stale reports an error that may mean the slot has a new master: a
// redirection, or no answer at all (not a script's error reply).
func stale(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true
	}
	s := rerr.Error()
	return strings.HasPrefix(s, "MOVED") || strings.HasPrefix(s, "ASK") || strings.HasPrefix(s, "CLUSTERDOWN")
}

func errCmd(ctx context.Context, err error) *redis.Cmd {
	c := redis.NewCmd(ctx)
	c.SetErr(err)
	return c
}
