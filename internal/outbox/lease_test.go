package outbox_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/outbox"
	"github.com/ordersaga/ordersaga/internal/testkit/amqptest"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// stallFor delays a call by d (or until its context ends), before Redis
// sees it or after Redis answered it.
func stallFor(d time.Duration, afterReply bool) func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
	wait := func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	return func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		if !afterReply {
			wait(ctx)
		}
		err := next(ctx, cmd)
		if afterReply {
			wait(ctx)
		}
		return err
	}
}

// TestStalledRenewalNeverPublishesConcurrently runs two relays on one
// outbox while events keep coming, and stalls the leader's lease renewals
// past the lease's TTL: the standby takes over, and the two never publish
// at the same time. Each message carries the fencing token of the lease it
// was published under: on the broker they must never decrease, or two
// leases' messages interleaved. And the leader never has a delete refused:
// that would mean it published a batch while its lease had passed.
func TestStalledRenewalNeverPublishesConcurrently(t *testing.T) {
	t.Parallel()
	const ttl = time.Second
	for _, tc := range []struct {
		name       string
		afterReply bool
	}{
		{"renewal answered late", true}, // Redis renewed the lease; the leader learns it too late
		{"renewal arrives late", false}, // the lease expires in Redis before the renewal reaches it
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rdb, prefix := redistest.New(t)
			topo, _ := amqptest.Topology(t)
			tap := amqptest.Tap(t, topo)
			stream := prefix + "{order}:outbox"
			cfg := outbox.Config{URL: amqptest.URL(), Stream: stream, Topology: topo, BatchSize: 20, Block: 50 * time.Millisecond,
				LeaseTTL: ttl, LeaseMargin: 250 * time.Millisecond, ConfirmTimeout: 300 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}

			var stalling atomic.Bool
			var stalls, refused atomic.Int32
			stall := stallFor(2*ttl, tc.afterReply)
			leaderRDB := hookedClient(t, rdb, scriptHook{script: outbox.RenewScript,
				around: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
					if !stalling.Load() {
						return next(ctx, cmd)
					}
					stalls.Add(1)
					return stall(ctx, cmd, next)
				}}, scriptHook{script: outbox.DeleteScript,
				around: func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
					err := next(ctx, cmd)
					if n, _ := cmd.(*redis.Cmd).Int(); n < 0 {
						refused.Add(1)
					}
					return err
				}})
			leader := startRelay(t, leaderRDB, cfg)
			ids := fill(t, rdb, stream, "o1", 0, 20)
			require.Eventually(t, func() bool { return leader.Stats().Published > 0 }, 10*time.Second, 10*time.Millisecond)
			standby := startRelay(t, rdb, cfg)

			stalling.Store(true)
			for i, end := 1, time.Now().Add(4*ttl); time.Now().Before(end); i++ {
				ids = append(ids, fill(t, rdb, stream, "o1", i*5, 5)...)
				time.Sleep(10 * time.Millisecond)
			}
			stalling.Store(false)
			requireDrained(t, rdb, stream)

			fences := deliveredFences(t, tap, ids, 30*time.Second)
			require.Positive(t, stalls.Load(), "the leader's renewals were stalled")
			require.Eventually(t, func() bool { return standby.Stats().Published > 0 }, 5*time.Second, 10*time.Millisecond,
				"the standby took over")
			t.Logf("leases in delivery order: %v", fenceRuns(fences))
			require.Zero(t, refused.Load(), "the leader published a batch after its lease had passed: its delete was refused")
			for i := 1; i < len(fences); i++ {
				require.GreaterOrEqual(t, fences[i], fences[i-1],
					"a message of an earlier lease arrived after a later lease's: both published at once: %v", fenceRuns(fences))
			}
		})
	}
}

// deliveredFences reads deliveries until every id in want arrived, and a
// moment longer for duplicates, and returns their outbox_fence headers in
// delivery order.
func deliveredFences(t *testing.T, tap <-chan amqp.Delivery, want []string, timeout time.Duration) []int64 {
	t.Helper()
	missing := map[string]bool{}
	for _, id := range want {
		missing[id] = true
	}
	var fences []int64
	deadline := time.After(timeout)
	quiet := time.NewTimer(time.Hour)
	defer quiet.Stop()
	for {
		select {
		case d := <-tap:
			fence, ok := d.Headers["outbox_fence"].(int64)
			require.True(t, ok, "outbox_fence header %#v", d.Headers["outbox_fence"])
			fences = append(fences, fence)
			delete(missing, d.MessageId)
			if len(missing) == 0 {
				quiet.Reset(500 * time.Millisecond)
			}
		case <-quiet.C:
			return fences
		case <-deadline:
			t.Fatalf("%d of %d events did not arrive within %s", len(missing), len(want), timeout)
		}
	}
}

// fenceRuns summarises fences as "fence×count" runs, for failure messages.
func fenceRuns(fences []int64) []string {
	var out []string
	for i := 0; i < len(fences); {
		j := i
		for j < len(fences) && fences[j] == fences[i] {
			j++
		}
		out = append(out, fmt.Sprintf("%d×%d", fences[i], j-i))
		i = j
	}
	return out
}
