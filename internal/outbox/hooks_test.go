package outbox_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"
)

// scriptHook is a go-redis hook that hands each call of one Lua script to
// around, which may delay it, fail it, or run something before or after it
// (next runs the call). Other commands pass through.
type scriptHook struct {
	script *redis.Script
	around func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error
}

func (h scriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h scriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h scriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if runs(cmd, h.script) {
			return h.around(ctx, cmd, next)
		}
		return next(ctx, cmd)
	}
}

// runs reports whether cmd is an EVALSHA or EVAL of script.
func runs(cmd redis.Cmder, script *redis.Script) bool {
	args := cmd.Args()
	if len(args) < 2 {
		return false
	}
	arg, _ := args[1].(string)
	switch cmd.Name() {
	case "evalsha":
		return arg == script.Hash()
	case "eval":
		sum := sha1.Sum([]byte(arg))
		return hex.EncodeToString(sum[:]) == script.Hash()
	}
	return false
}

// hookedClient returns a new client to the same Redis as rdb, with hooks:
// a relay given it sees the faults they inject, the test's own client does
// not.
func hookedClient(t *testing.T, rdb redis.UniversalClient, hooks ...redis.Hook) redis.UniversalClient {
	t.Helper()
	var c redis.UniversalClient
	switch r := rdb.(type) {
	case *redis.ClusterClient:
		opts := *r.Options()
		c = redis.NewClusterClient(&opts)
	case *redis.Client:
		opts := *r.Options()
		c = redis.NewClient(&opts)
	}
	for _, h := range hooks {
		c.AddHook(h)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
