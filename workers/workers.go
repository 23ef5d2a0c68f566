// Package workers says which worker registers what on which task queue. Each
// service has its own worker on its own task queue, so in production each
// runs (and scales) in its own process; `ordersaga dev` runs them all.
package workers

import (
	"errors"
	"fmt"
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
	// Saga is the orchestrator's configuration of the sagas it runs (their
	// options: approval threshold and timeout, compensation bounds, the
	// payment's retry budget).
	Saga workflows.Config
}

// New returns the worker of service, not yet started. Activity workers
// record the attempt a business failure ended on (AttemptInterceptor).
func New(c client.Client, service string, acts Activities, opts worker.Options) (worker.Worker, error) {
	opts.Interceptors = append(slices.Clone(opts.Interceptors), activities.AttemptInterceptor())
	switch service {
	case Orchestrator:
		w := worker.New(c, workflows.TaskQueueOrchestrator, opts)
		w.RegisterWorkflowWithOptions(workflows.Workflow(acts.Saga), workflow.RegisterOptions{Name: workflows.WorkflowName})
		return w, nil
	case Order:
		return activityWorker(c, workflows.TaskQueueOrder, acts.Order, opts)
	case Inventory:
		return activityWorker(c, workflows.TaskQueueInventory, acts.Inventory, opts)
	case Payment:
		return activityWorker(c, workflows.TaskQueuePayment, acts.Payment, opts)
	}
	return nil, fmt.Errorf("unknown service %q", service)
}

func activityWorker[T any](c client.Client, queue string, acts *T, opts worker.Options) (worker.Worker, error) {
	if acts == nil {
		return nil, fmt.Errorf("task queue %s: no %T activities given", queue, acts)
	}
	w := worker.New(c, queue, opts)
	w.RegisterActivity(acts)
	return w, nil
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
