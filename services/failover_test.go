package services_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
)

// failoverRuns is how many failovers each mode of TestFailover measures:
// $FAILOVER_RUNS, 1 by default.
func failoverRuns() int {
	if n, err := strconv.Atoi(os.Getenv("FAILOVER_RUNS")); err == nil && n > 0 {
		return n
	}
	return 1
}

// failoverReplicas is how many replicas each master has in TestFailover:
// $FAILOVER_REPLICAS, 1 by default.
func failoverReplicas() int {
	if n, err := strconv.Atoi(os.Getenv("FAILOVER_REPLICAS")); err == nil && n > 0 {
		return n
	}
	return 1
}

// TestFailover runs saga-shaped step sequences (create order, reserve,
// commit, confirm; each step retried until it succeeds, as an activity is)
// on a 3-master Redis Cluster with a replica per master, SIGKILLs the
// master holding the inventory's keys mid-run, and checks what the sagas
// saw once its replica is promoted: no step is applied twice (the stock
// counts are exact, each event is in the outbox once), and with
// wait_replicas=1 no acknowledged write is lost and every saga completes.
// Without it (async), a write acknowledged but not yet replicated may be
// lost: the run logs how many effects went missing and how many sagas
// then met a record a lost write should have made (stuck), and does not
// fail on them. It logs the figures docs/production.md quotes
// (FAILOVER_RUNS=5 for more runs).
func TestFailover(t *testing.T) {
	// go-redis logs each failed dial to the killed master.
	redis.SetLogger(quietRedis{})
	for _, mode := range []struct {
		name, query string
		strict      bool
	}{{"async", "", false}, {"wait_replicas=1", "&wait_replicas=1&wait_timeout=200ms", true}} {
		t.Run(mode.name, func(t *testing.T) {
			for i := range failoverRuns() {
				r := failover(t, mode.query)
				t.Logf("%s run %d: %s", mode.name, i+1, r)
				require.Zero(t, r.twice, "no step applied twice")
				if mode.strict {
					require.Zero(t, r.lost, "no acknowledged write lost")
					require.Zero(t, r.stuck, "every saga completes")
				}
			}
		})
	}
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// failoverResult is what one failover did to the sagas.
type failoverResult struct {
	sagas, completed int
	// lost: effects of acknowledged steps missing after the failover (a
	// record's state, an outbox event); twice: effects or events applied
	// twice; stuck: sagas that met an error no retry fixes (a record a
	// lost write should have made).
	lost, twice, stuck int
	promotion          time.Duration // kill → first write on the slot's new master
	maxStep            time.Duration // longest a step took, retries included
	retries            int64
}

func (r failoverResult) String() string {
	return fmt.Sprintf("%d sagas (%d completed), promotion %s, longest step %s, %d retries, lost %d, applied twice %d, stuck %d",
		r.sagas, r.completed, r.promotion.Round(time.Millisecond), r.maxStep.Round(time.Millisecond), r.retries, r.lost, r.twice, r.stuck)
}

// stepStores are the stores the sagas of TestFailover write to.
type stepStores struct {
	rdb    redis.UniversalClient
	orders *order.Store
	inv    *inventory.Store
	orderK redislua.Keyspace
	invK   redislua.Keyspace
}

const failoverStock = 1_000_000

func failover(t *testing.T, query string) failoverResult {
	ctx := context.Background()
	replicas := failoverReplicas()
	c, err := redistest.StartCluster(ctx, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: replicas, NodeTimeout: time.Second})
	require.NoError(t, err)
	defer c.Stop()
	rdb, err := redislua.NewClient(c.URL + "&dial_timeout=200ms&read_timeout=300ms&write_timeout=300ms" + query)
	require.NoError(t, err)
	defer rdb.Close()
	st := stepStores{rdb: rdb, orderK: redislua.NewKeyspace("", "order"), invK: redislua.NewKeyspace("", "inventory")}
	st.orders, st.inv = order.NewStore(rdb, st.orderK), inventory.NewStore(rdb, st.invK)
	_, err = st.inv.Put(ctx, "sku", failoverStock, 100)
	require.NoError(t, err)

	master, err := rdb.(*redis.ClusterClient).MasterForKey(ctx, st.invK.Outbox())
	require.NoError(t, err)
	_, p, _ := strings.Cut(master.Options().Addr, ":")
	port, _ := strconv.Atoi(p)

	var r failoverResult
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var stats sagaStats
	for w := range 8 {
		wg.Go(func() { stats.loop(runCtx, st, w) })
	}
	time.Sleep(time.Second)
	killed := time.Now()
	require.NoError(t, c.Kill(port))
	r.promotion = awaitWritable(ctx, rdb, st.invK.Key("probe"), killed)
	if query != "" && replicas == 1 {
		// WAIT needs a replica: the killed master rejoins as one.
		require.NoError(t, c.Restart(port))
	}
	time.Sleep(1500 * time.Millisecond)
	stop()
	wg.Wait()
	r.sagas, r.completed, r.stuck = int(stats.sagas.Load()), int(stats.completed.Load()), int(stats.stuck.Load())
	r.retries, r.maxStep = stats.retries.Load(), time.Duration(stats.maxStep.Load())
	rdb.(*redis.ClusterClient).ReloadState(ctx)
	time.Sleep(200 * time.Millisecond)
	r.lost, r.twice = audit(t, st, stats.done())
	return r
}

// awaitWritable returns how long after since a write to key (on the killed
// master's slot) succeeds again.
func awaitWritable(ctx context.Context, rdb redis.UniversalClient, key string, since time.Time) time.Duration {
	for time.Since(since) < 30*time.Second {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := rdb.Set(cctx, key, "x", 0).Err()
		cancel()
		if err == nil {
			return time.Since(since)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return -1
}

// sagaStats counts the sagas of one run.
type sagaStats struct {
	sagas, completed, stuck, retries, maxStep atomic.Int64
	mu                                        sync.Mutex
	ended                                     map[string]bool // saga ID → completed
}

func (s *sagaStats) done() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

func (s *sagaStats) end(id string, completed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended == nil {
		s.ended = map[string]bool{}
	}
	s.ended[id] = completed
}

// loop runs sagas one after the other until ctx ends; a saga started
// finishes (or is stuck) whatever ctx does.
func (s *sagaStats) loop(ctx context.Context, st stepStores, worker int) {
	for n := 0; ctx.Err() == nil; n++ {
		id := fmt.Sprintf("o-%d-%d", worker, n)
		s.sagas.Add(1)
		err := s.saga(st, id)
		s.end(id, err == nil)
		if err != nil {
			s.stuck.Add(1)
			continue
		}
		s.completed.Add(1)
	}
}

func (s *sagaStats) saga(st stepStores, id string) error {
	key := "wf-" + id
	items := []ordersaga.Item{{SKU: "sku", Quantity: 1}}
	steps := []func(context.Context) error{
		func(ctx context.Context) error {
			return st.orders.Create(ctx, key+"/create_order", ordersaga.Order{ID: id, CustomerID: "c", Items: items})
		},
		func(ctx context.Context) error {
			_, err := st.inv.Reserve(ctx, key+"/reserve_inventory", id, items)
			return err
		},
		func(ctx context.Context) error { return st.inv.Commit(ctx, key+"/reserve_inventory") },
		func(ctx context.Context) error {
			return st.orders.Confirm(ctx, key+"/confirm_order", id, 100, "ch_"+id)
		},
	}
	for _, step := range steps {
		if err := s.retry(step); err != nil {
			return err
		}
	}
	return nil
}

// retry runs step until it succeeds, as Temporal retries an activity; a
// domain error (the step's record is missing or in a state it cannot
// follow: an acknowledged write was lost) ends the saga.
func (s *sagaStats) retry(step func(context.Context) error) error {
	start := time.Now()
	defer func() {
		for d := int64(time.Since(start)); ; {
			m := s.maxStep.Load()
			if d <= m || s.maxStep.CompareAndSwap(m, d) {
				return
			}
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := step(ctx)
		cancel()
		var derr *ordersaga.Error
		if err == nil || errors.As(err, &derr) || errors.Is(err, ordersaga.ErrCompensated) {
			return err
		}
		s.retries.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("step did not succeed within 30s")
}

// audit checks the stores after a run: each completed saga's order is
// confirmed and its reservation committed (else a write was lost), each
// event of a saga is in its outbox once (missing: lost; more: twice), and
// the SKU's committed units are exactly the committed reservations.
func audit(t *testing.T, st stepStores, sagas map[string]bool) (lost, twice int) {
	ctx := context.Background()
	events := outboxCounts(t, st, st.orderK.Outbox(), st.invK.Outbox())
	committed := 0
	for id, completed := range sagas {
		rk := st.invK.Key("reservation", "wf-"+id+"/reserve_inventory")
		state := st.rdb.HGet(ctx, rk, "state").Val()
		if state == "committed" {
			committed++
		}
		if !completed {
			continue
		}
		o, err := st.orders.Get(ctx, id)
		if err != nil || o.Status != ordersaga.OrderConfirmed {
			lost++
		}
		if state != "committed" {
			lost++
		}
		for _, typ := range []string{"order.created", "inventory.reserved", "inventory.committed", "order.confirmed"} {
			switch n := events["wf-"+id+" "+typ]; {
			case n == 0:
				lost++
			case n > 1:
				twice += n - 1
			}
		}
	}
	stock, err := st.inv.Get(ctx, "sku")
	require.NoError(t, err)
	if int(stock.Committed) > committed {
		twice += int(stock.Committed) - committed
	}
	require.EqualValues(t, failoverStock, stock.Available+stock.Reserved+stock.Committed, "units are conserved")
	return lost, twice
}

// outboxCounts counts the entries of the streams by "<wf> <type>".
func outboxCounts(t *testing.T, st stepStores, streams ...string) map[string]int {
	out := map[string]int{}
	for _, s := range streams {
		entries, err := st.rdb.XRange(context.Background(), s, "-", "+").Result()
		require.NoError(t, err)
		for _, e := range entries {
			out[fmt.Sprint(e.Values["wf"], " ", e.Values["type"])]++
		}
	}
	return out
}
