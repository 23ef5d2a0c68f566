package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// roles are the roles --replicas runs several of, each in its own
// processes: the orchestrator and each service's workers (ordersaga worker
// --services <role>), the projector and the API.
var roles = []string{"orchestrator", "order", "inventory", "payment", "projector", "api"}

// replicaName is the process name of a role's i-th replica (from 1).
func replicaName(role string, i int) string { return role + "-" + strconv.Itoa(i) }

// replicaArgs sets the arguments of every replica of every role. A service
// replica serves its API on its own address; API replica i calls service
// replica i (a Kubernetes Service would pick any live one; the suite kills
// replica 2 of every role, so replica 1's pairs stay whole).
func (s *suite) replicaArgs(token, proxiedRedis, proxiedRabbit string) {
	common := []string{"--log-level", "warn", "--redis-key-prefix", s.prefix}
	services := append([]string{"--temporal-address", s.temporal, "--redis-url", proxiedRedis,
		"--rabbitmq-url", proxiedRabbit, "--rabbitmq-exchange", s.topo.EventsExchange()}, common...)
	s.apis = nil
	for i := 1; i <= s.cfg.Replicas; i++ {
		addr := map[string]string{}
		for _, role := range roles {
			addr[role] = freeAddr()
			s.ready = append(s.ready, addr[role])
		}
		for _, role := range roles[:4] {
			s.args[replicaName(role, i)] = append([]string{"worker", "--services", role,
				"--payment-provider-url", "http://" + s.provider, "--payment-timeout", "500ms",
				"--http-addr", addr[role], "--service-token", token}, services...)
		}
		s.args[replicaName("projector", i)] = append([]string{"projector", "--redis-url", proxiedRedis, "--rabbitmq-url", proxiedRabbit,
			"--rabbitmq-exchange", s.topo.EventsExchange(), "--timeline-queue", s.queue, "--http-addr", addr["projector"]}, common...)
		s.args[replicaName("api", i)] = append([]string{"api", "--api-addr", addr["api"], "--approval-threshold-cents=-1",
			"--compensation-max-interval", "5s", "--temporal-address", s.temporal, "--redis-url", proxiedRedis,
			"--order-service-url", "http://" + addr["order"], "--inventory-service-url", "http://" + addr["inventory"],
			"--payment-service-url", "http://" + addr["payment"], "--service-token", token}, common...)
		s.apis = append(s.apis, addr["api"])
	}
}

// replicaNames are the process names of every replica of every role.
func (s *suite) replicaNames() []string {
	var out []string
	for i := 1; i <= s.cfg.Replicas; i++ {
		for _, role := range roles {
			out = append(out, replicaName(role, i))
		}
	}
	return out
}

// replicaKills SIGKILLs the last replica of every role, one role every
// 700ms, starting 3s into the run; none is restarted: the others carry
// the load.
func (s *suite) replicaKills() []fault {
	var out []fault
	for i, role := range roles {
		name := replicaName(role, s.cfg.Replicas)
		after := 700 * time.Millisecond
		if i == 0 {
			after = 3 * time.Second
		}
		out = append(out, fault{"kill-" + name, "SIGKILL " + name + " (not restarted)", after, 0,
			func() { s.kill(name); s.down(name) }, func() {}})
	}
	return out
}

// balancer is what a load balancer in front of the API replicas does for
// the suite's client: requests go round-robin to the replicas, and a
// request that cannot connect to one goes to the next.
type balancer struct {
	next  atomic.Uint64
	mu    sync.Mutex
	addrs []string
	dead  map[string]bool
	base  http.RoundTripper
}

func newBalancer(addrs []string) *balancer {
	return &balancer{addrs: addrs, dead: map[string]bool{}, base: http.DefaultTransport}
}

// markDown takes addr out of the rotation.
func (b *balancer) markDown(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dead[addr] = true
}

func (b *balancer) live() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, a := range b.addrs {
		if !b.dead[a] {
			out = append(out, a)
		}
	}
	return out
}

func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	live := b.live()
	if len(live) == 0 {
		return nil, errors.New("no API replica left")
	}
	start := int(b.next.Add(1))
	var err error
	for i := range live {
		r := req.Clone(req.Context())
		r.URL.Host, r.Host = live[(start+i)%len(live)], ""
		if req.GetBody != nil {
			if r.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		var resp *http.Response
		if resp, err = b.base.RoundTrip(r); err == nil {
			return resp, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("every API replica refused: %w", err)
}

// down tells the balancer an API replica is gone (a health check would).
func (s *suite) down(name string) {
	if s.lb == nil {
		return
	}
	for i := 1; i <= s.cfg.Replicas; i++ {
		if name == replicaName("api", i) {
			s.lb.markDown(s.apis[i-1])
		}
	}
}

// waitReplicas waits until every replica answers /readyz.
func (s *suite) waitReplicas(ctx context.Context) error {
	for _, addr := range s.ready {
		if err := waitReady(ctx, "http://"+addr+"/readyz", 90*time.Second); err != nil {
			return err
		}
	}
	return nil
}
