package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

// OrderFulfillment runs the order fulfillment saga: Definition of the
// revision in.Revision, on the engine (saga.Run).
//
// It returns the final State. A business failure (out of stock, declined,
// approval timeout) or a cancel before the pivot compensates the completed
// steps in reverse order and still returns a State (COMPENSATED or
// CANCELLED) with a nil error; a Temporal cancellation request does the same
// but ends the workflow as canceled, with the final State as the canceled
// error's details. Cancellation after the pivot has started is ignored: the
// saga completes.
func OrderFulfillment(ctx workflow.Context, in Input) (State, error) {
	return Workflow(Config{})(ctx, in)
}

// Config is what the orchestrator's worker brings to the sagas it runs.
type Config struct {
	// Colocated lists the services' task queues whose activities the
	// orchestrator's worker also runs on its own task queue (the
	// single-process topology): the saga schedules their steps there, where
	// Temporal dispatches them to the same worker at once (eager dispatch),
	// saving a matching round trip per step. Every orchestrator replica must
	// be given the same list. An activity's task queue is not part of
	// Temporal's determinism check, so changing the list replays; see
	// docs/architecture.md for moving between topologies.
	Colocated []string
	// Options are the tunables of the sagas of revision 2 on (zero fields
	// take their defaults): the approval threshold and timeout, the
	// compensation bounds, the payment's retry budget. They are the
	// deployment's, not the starter's: a saga reads them once, when it
	// starts, through a workflow.SideEffect, so a saga in flight keeps the
	// values it started with when the worker's configuration changes.
	// Sagas of revisions 0 and 1 read theirs from their input.
	Options Options
}

// Workflow returns OrderFulfillment as a worker with cfg runs it; register
// it under WorkflowName.
func Workflow(cfg Config) func(workflow.Context, Input) (State, error) {
	return func(ctx workflow.Context, in Input) (State, error) {
		checkRevision(in)
		def := Definition(in.Revision, cfg.options(ctx, in))
		colocate(&def, cfg.Colocated)
		return start(ctx, in, def)
	}
}

// ChangeWorkerOptions is the workflow.GetVersion change ID that marks a
// saga of revision 0 or 1 started since the worker's options replaced the
// input's: sagas recorded before it keep their input's options.
const ChangeWorkerOptions = "worker-options"

// options returns the options in's saga runs with: the worker's, recorded
// when the saga starts. Only a saga of revision 0 or 1 recorded before
// ChangeWorkerOptions keeps its input's, so no starter, whatever revision
// it names, sets its own approval threshold.
func (cfg Config) options(ctx workflow.Context, in Input) Options {
	if in.Revision < 2 && workflow.GetVersion(ctx, ChangeWorkerOptions, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return in.Options
	}
	return workerOptions(ctx, cfg.Options)
}

// workerOptions records opts (defaults applied) in the saga's history once
// and returns the recorded values: on replay, those the saga started with.
func workerOptions(ctx workflow.Context, opts Options) Options {
	var out Options
	v := workflow.SideEffect(ctx, func(workflow.Context) any { return opts.withDefaults() })
	if err := v.Get(&out); err != nil {
		// Only a history written by other code fails to decode.
		panic(fmt.Sprintf("saga options: %v", err))
	}
	return out
}

// checkRevision checks that this worker knows in's revision.
func checkRevision(in Input) {
	if in.Revision > Revision {
		// A starter newer than this worker: running the saga with older
		// code would record a history the newer workers cannot replay.
		// Panicking fails the workflow task, which Temporal retries until a
		// worker of that revision takes it.
		panic(fmt.Sprintf("saga of revision %d, but this worker runs revision %d: deploy the new workers before the starters", in.Revision, Revision))
	}
}

// start runs def for in.
func start(ctx workflow.Context, in Input, def saga.Definition[State]) (State, error) {
	checkRevision(in)
	return saga.Run(ctx, def, &State{OrderID: in.OrderID, ClientID: in.ClientID, CustomerID: in.CustomerID, in: in})
}

// colocate moves def's activities on the queues of colocated (its steps'
// and the resolution's) onto the orchestrator's queue.
func colocate(def *saga.Definition[State], colocated []string) {
	queue := func(q string) string {
		if slices.Contains(colocated, q) {
			return TaskQueueOrchestrator
		}
		return q
	}
	for i := range def.Steps {
		def.Steps[i].TaskQueue = queue(def.Steps[i].TaskQueue)
	}
	resolved := def.Resolved
	def.Resolved = func(st *State, step string, k saga.Keys, r saga.Resolution) saga.Call {
		c := resolved(st, step, k, r)
		c.TaskQueue = queue(c.TaskQueue)
		return c
	}
}

// ensureSearchAttributes sets the order ID and status when the starter did
// not (the API always does; a saga started from the CLI may not). The
// customer ID is left to the starter: search attributes are stored in clear,
// and only the starter knows whether to store a reference instead.
func ensureSearchAttributes(ctx workflow.Context, o *State) {
	if _, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(OrderIDKey); ok {
		return
	}
	err := workflow.UpsertTypedSearchAttributes(ctx,
		OrderIDKey.ValueSet(o.OrderID),
		SagaStatusKey.ValueSet(string(o.Status)),
	)
	if err != nil {
		workflow.GetLogger(ctx).Warn("upsert search attributes failed", "error", err)
	}
}
