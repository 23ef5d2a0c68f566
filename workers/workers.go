// Package workers says which worker registers what on which task queue. Each
// service has its own worker on its own task queue, so in production each
// runs (and scales) in its own process; `ordersaga dev` runs them all.
package workers

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/workflows"
)

// Service names, as `ordersaga worker --services` takes them.
const (
	Orchestrator = "orchestrator"
	Order        = "order"
	Inventory    = "inventory"
	Payment      = "payment"
)

// All lists every service.
var All = []string{Orchestrator, Order, Inventory, Payment}

// ParseServices parses a comma-separated subset of All.
func ParseServices(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(All, name) {
			return nil, fmt.Errorf("unknown service %q (want a subset of %s)", name, strings.Join(All, ","))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no services given")
	}
	return out, nil
}

// Activities are the service implementations; only those of the services
// being run need to be set.
type Activities struct {
	Order     *activities.Order
	Inventory *activities.Inventory
	Payment   *activities.Payment
}

// Topology says where the saga schedules the steps of the services a
// worker process hosts beside the orchestrator.
type Topology string

const (
	// Single: a process hosting the orchestrator and some services has the
	// saga schedule those services' steps on the orchestrator's own task
	// queue, where Temporal hands each to the worker that scheduled it
	// (eager dispatch) and a matching round trip per step is saved. The
	// services keep their own queues' workers too, for activities already
	// scheduled there.
	Single Topology = "single"
	// Split: every step runs on its service's task queue, whoever hosts it:
	// each service deploys and scales alone.
	Split Topology = "split"
)

// ParseTopology parses "single" or "split".
func ParseTopology(s string) (Topology, error) {
	switch t := Topology(s); t {
	case Single, Split:
		return t, nil
	}
	return "", fmt.Errorf("unknown topology %q (want single or split)", s)
}

// Colocated returns the services whose steps the saga schedules on the
// orchestrator's task queue when one process hosts services in topology:
// with Single and the orchestrator among them, every other hosted service;
// none otherwise. Every orchestrator replica must host the same services
// (docs/architecture.md).
func Colocated(services []string, topology Topology) []string {
	if topology != Single || !slices.Contains(services, Orchestrator) {
		return nil
	}
	var out []string
	for _, s := range services {
		if s != Orchestrator {
			out = append(out, s)
		}
	}
	return out
}

// NewAll returns the workers of services, not yet started: one per
// service, on its task queue. The orchestrator's worker also runs the
// activities of the services hosted with it, in either topology: in Single
// its sagas schedule them on its queue (see Colocated); in Split it serves
// those still scheduled there by a Single replica, so a move between
// topologies loses no step. Activity workers record the attempt a business
// failure ended on (AttemptInterceptor).
func NewAll(c client.Client, services []string, acts Activities, topology Topology, opts worker.Options) ([]worker.Worker, error) {
	opts.Interceptors = append(slices.Clone(opts.Interceptors), activities.AttemptInterceptor())
	var out []worker.Worker
	for _, s := range services {
		queue, _, ok := taskQueueOf(s)
		if !ok {
			return nil, fmt.Errorf("unknown service %q", s)
		}
		w := worker.New(c, queue, opts)
		out = append(out, w)
		if s != Orchestrator {
			if err := register(w, s, acts); err != nil {
				return nil, err
			}
			continue
		}
		for _, hosted := range services {
			if hosted == Orchestrator {
				continue
			}
			if err := register(w, hosted, acts); err != nil {
				return nil, err
			}
		}
		var cfg workflows.Config
		for _, co := range Colocated(services, topology) {
			q, _, _ := taskQueueOf(co)
			cfg.Colocated = append(cfg.Colocated, q)
		}
		w.RegisterWorkflowWithOptions(workflows.Workflow(cfg), workflow.RegisterOptions{Name: workflows.WorkflowName})
	}
	return out, nil
}

// register registers service's activities on w.
func register(w worker.Registry, service string, acts Activities) error {
	var a any
	switch service {
	case Order:
		a = acts.Order
	case Inventory:
		a = acts.Inventory
	case Payment:
		a = acts.Payment
	}
	if a == nil || reflect.ValueOf(a).IsNil() {
		return fmt.Errorf("service %s: no activities given", service)
	}
	w.RegisterActivity(a)
	return nil
}

// Group runs several workers together.
type Group struct {
	workers []worker.Worker
}

// Add adds w to the group.
func (g *Group) Add(w worker.Worker) { g.workers = append(g.workers, w) }

// Start starts every worker; on an error it stops those already started.
func (g *Group) Start() error {
	for i, w := range g.workers {
		if err := w.Start(); err != nil {
			for _, started := range g.workers[:i] {
				started.Stop()
			}
			return fmt.Errorf("start worker: %w", err)
		}
	}
	return nil
}

// Stop stops every worker, waiting up to each worker's WorkerStopTimeout for
// running activities. An activity cut short is retried by Temporal.
func (g *Group) Stop() {
	for _, w := range slices.Backward(g.workers) {
		w.Stop()
	}
}
