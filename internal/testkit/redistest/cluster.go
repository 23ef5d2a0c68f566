package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A Cluster is a Redis Cluster of local redis-server processes (Redis 7),
// started by a test. Its processes die with the test binary (and by Stop).
type Cluster struct {
	// URL is the cluster's URL in go-redis's cluster form: the first
	// node's address, the others as addr= parameters.
	URL         string
	ports       []int
	dir         string
	nodeTimeout time.Duration

	mu    sync.Mutex
	procs map[int]*exec.Cmd
}

// ClusterConfig says how many masters and replicas per master a Cluster has,
// and its cluster-node-timeout (how long a master may be unreachable before
// its replica is promoted).
type ClusterConfig struct {
	Masters, ReplicasPerMaster int
	NodeTimeout                time.Duration
}

// StartCluster starts redis-server processes on free local ports, creates
// the cluster with redis-cli --cluster create and waits until every node
// says cluster_state:ok. It fails if redis-server or redis-cli is missing.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("redistest: %s is needed for a Redis Cluster (apt-get install redis-server): %w", bin, err)
		}
	}
	if cfg.NodeTimeout == 0 {
		cfg.NodeTimeout = time.Second
	}
	n := cfg.Masters * (1 + cfg.ReplicasPerMaster)
	dir, err := clusterDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{ports: freePorts(n), dir: dir, nodeTimeout: cfg.NodeTimeout, procs: map[int]*exec.Cmd{}}
	for _, p := range c.ports {
		if err := c.startNode(p); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.create(ctx, cfg.ReplicasPerMaster); err != nil {
		c.Stop()
		return nil, err
	}
	addrs := make([]string, 0, n-1)
	for _, p := range c.ports[1:] {
		addrs = append(addrs, "addr=127.0.0.1:"+strconv.Itoa(p))
	}
	c.URL = fmt.Sprintf("redis://127.0.0.1:%d?%s", c.ports[0], strings.Join(addrs, "&"))
	return c, nil
}

// clusterDir makes a cluster's directory, <tmp>/redistest-clusters/<pid>-*,
// and removes those of test binaries that have exited (a shared cluster's
// nodes die with its binary, which runs no cleanup).
func clusterDir() (string, error) {
	parent := filepath.Join(os.TempDir(), "redistest-clusters")
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		pid, _, _ := strings.Cut(e.Name(), "-")
		if n, err := strconv.Atoi(pid); err == nil && syscall.Kill(n, 0) == syscall.ESRCH {
			_ = os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
	return os.MkdirTemp(parent, strconv.Itoa(os.Getpid())+"-")
}

// freePorts returns n consecutive ports that are free, as are their
// cluster bus ports (+10000).
func freePorts(n int) []int {
	for {
		base := 20000 + rand.IntN(9000)
		ports := make([]int, n)
		ok := true
		for i := range ports {
			ports[i] = base + i
			ok = ok && free(ports[i]) && free(ports[i]+10000)
		}
		if ok {
			return ports
		}
	}
}

func free(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func (c *Cluster) startNode(port int) error {
	p := strconv.Itoa(port)
	cmd := exec.Command("redis-server", "--port", p, "--bind", "127.0.0.1", "--dir", c.dir,
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+p+".conf",
		"--cluster-node-timeout", strconv.FormatInt(c.nodeTimeout.Milliseconds(), 10),
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "redis-"+p+".log")
	// The node dies with the test binary, even when no cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start redis-server on %s: %w", p, err)
	}
	c.mu.Lock()
	c.procs[port] = cmd
	c.mu.Unlock()
	go func() { _ = cmd.Wait() }()
	return waitPing(port)
}

func waitPing(port int) error {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer rdb.Close()
	var err error
	for range 100 {
		if err = rdb.Ping(context.Background()).Err(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redistest: redis-server on %d does not answer: %w", port, err)
}

func (c *Cluster) create(ctx context.Context, replicas int) error {
	args := []string{"--cluster", "create"}
	for _, p := range c.ports {
		args = append(args, "127.0.0.1:"+strconv.Itoa(p))
	}
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redistest: redis-cli --cluster create: %w: %s", err, out)
	}
	for _, p := range c.ports {
		if err := c.waitOK(ctx, p); err != nil {
			return err
		}
	}
	return c.waitReplicas(ctx, replicas)
}

// waitReplicas waits until each master has its replicas online (their
// first sync done): until then WAIT counts none.
func (c *Cluster) waitReplicas(ctx context.Context, replicas int) error {
	if replicas == 0 {
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range c.ports {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(p)})
		for {
			info := rdb.Info(ctx, "replication").Val()
			if !strings.Contains(info, "role:master") ||
				strings.Count(info, "state=online") >= replicas {
				break
			}
			if time.Now().After(deadline) {
				_ = rdb.Close()
				return fmt.Errorf("redistest: node %d: replicas not online after 30s", p)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = rdb.Close()
	}
	return nil
}

// waitOK waits until the node on port says cluster_state:ok.
func (c *Cluster) waitOK(ctx context.Context, port int) error {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if info, err := rdb.ClusterInfo(ctx).Result(); err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redistest: node %d: cluster not ok after 30s", port)
}

// Kill sends SIGKILL to the node on port.
func (c *Cluster) Kill(port int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cmd, ok := c.procs[port]
	if !ok {
		return fmt.Errorf("redistest: no node on %d", port)
	}
	delete(c.procs, port)
	return cmd.Process.Kill()
}

// Restart starts the node on port again, from its cluster config file: a
// master that was failed over rejoins as a replica of its successor.
func (c *Cluster) Restart(port int) error { return c.startNode(port) }

// Ports returns the nodes' ports.
func (c *Cluster) Ports() []int { return c.ports }

// Stop kills every node and removes their files.
func (c *Cluster) Stop() {
	c.mu.Lock()
	for p, cmd := range c.procs {
		_ = cmd.Process.Kill()
		delete(c.procs, p)
	}
	c.mu.Unlock()
	_ = os.RemoveAll(c.dir)
}

var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// ClusterURL returns the URL of the test binary's shared 3-master Redis
// Cluster, started on first use; it fails the test if the cluster cannot
// start. The nodes die with the test binary.
func ClusterURL(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared.c, shared.err = StartCluster(ctx, ClusterConfig{Masters: 3})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.c.URL
}

// onCluster holds the names of the subtests OnCluster runs.
var onCluster sync.Map

// OnCluster runs each of tests again as a subtest "cluster/<name>" in which
// New returns a client of the shared Redis Cluster (ClusterURL) instead of
// the single Redis: a store's suite runs on both.
func OnCluster(t *testing.T, tests ...func(*testing.T)) {
	ClusterURL(t)
	for _, fn := range tests {
		name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
		name = strings.TrimPrefix(name[strings.LastIndex(name, ".")+1:], "Test")
		t.Run("cluster/"+name, func(t *testing.T) {
			onCluster.Store(t.Name(), true)
			fn(t)
		})
	}
}

// inCluster reports whether t is, or runs under, a subtest of OnCluster.
func inCluster(t testing.TB) bool {
	for name := t.Name(); ; {
		if _, ok := onCluster.Load(name); ok {
			return true
		}
		i := strings.LastIndex(name, "/")
		if i < 0 {
			return false
		}
		name = name[:i]
	}
}
