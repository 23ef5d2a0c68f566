// Package workers hosts the services of the catalog on their Temporal task
// queues: given the services a process runs (each a name, a task queue and
// the struct whose methods are its activities), it builds one worker per
// service, plus the orchestrator's, which runs the order saga. It decides
// where the saga schedules the steps of the services hosted beside the
// orchestrator (Topology) and says whether the workers poll (PollersRunning).
// It names no service: the catalog of cmd/ordersaga does.
package workers

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
	"github.com/ordersaga/ordersaga/workflows"
)

// Orchestrator is the name of the service that runs the saga itself, as
// `ordersaga worker --services` takes it.
const Orchestrator = "orchestrator"

// Service is what a worker process hosts of one service.
type Service struct {
	// Name is the service's name, as `ordersaga worker --services` takes it.
	Name string
	// TaskQueue is the queue its worker polls.
	TaskQueue string
	// Activities is the struct whose exported methods are the service's
	// activities (worker.RegisterActivity); nil for the orchestrator.
	Activities any
}

// OrchestratorService is the orchestrator: the saga's workflow on
// workflows.TaskQueueOrchestrator.
func OrchestratorService() Service {
	return Service{Name: Orchestrator, TaskQueue: workflows.TaskQueueOrchestrator}
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

// Colocated returns the task queues of the services whose steps the saga
// schedules on the orchestrator's task queue when one process hosts
// services in topology: with Single and the orchestrator among them, every
// other hosted service's; none otherwise. Every orchestrator replica must
// host the same services (docs/architecture.md).
func Colocated(services []Service, topology Topology) []string {
	if topology != Single || !slices.ContainsFunc(services, isOrchestrator) {
		return nil
	}
	var out []string
	for _, s := range services {
		if !isOrchestrator(s) {
			out = append(out, s.TaskQueue)
		}
	}
	return out
}

func isOrchestrator(s Service) bool { return s.Name == Orchestrator }

// NewAll returns the workers of services, not yet started: one per
// service, on its task queue. The orchestrator's worker also runs the
// activities of the services hosted with it, in either topology: in Single
// its sagas schedule them on its queue (see Colocated); in Split it serves
// those still scheduled there by a Single replica, so a move between
// topologies loses no step. Every worker records the attempt a business
// failure ended on (saga.AttemptInterceptor).
//
// The orchestrator's sagas take sagaOpts, the deployment's saga options
// (workflows.Config.Options).
func NewAll(c client.Client, services []Service, topology Topology, sagaOpts workflows.Options, opts worker.Options) ([]worker.Worker, error) {
	opts.Interceptors = append(slices.Clone(opts.Interceptors), saga.AttemptInterceptor())
	var out []worker.Worker
	for _, s := range services {
		if s.TaskQueue == "" {
			return nil, fmt.Errorf("service %s: no task queue", s.Name)
		}
		w := worker.New(c, s.TaskQueue, opts)
		out = append(out, w)
		if !isOrchestrator(s) {
			if err := register(w, s); err != nil {
				return nil, err
			}
			continue
		}
		for _, hosted := range services {
			if !isOrchestrator(hosted) {
				if err := register(w, hosted); err != nil {
					return nil, err
				}
			}
		}
		cfg := workflows.Config{Colocated: Colocated(services, topology), Options: sagaOpts}
		w.RegisterWorkflowWithOptions(workflows.Workflow(cfg), workflow.RegisterOptions{Name: workflows.WorkflowName})
	}
	return out, nil
}

// register registers s's activities on w.
func register(w worker.Registry, s Service) error {
	if s.Activities == nil {
		return fmt.Errorf("service %s: no activities given", s.Name)
	}
	w.RegisterActivity(s.Activities)
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
