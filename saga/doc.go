// Package saga is a saga engine for Temporal workflows: a saga's steps are
// declared as data (a Definition of Steps) and Run interprets them inside a
// workflow. It knows nothing of any business; the order fulfillment saga
// (package workflows) is its first user.
//
// # Declaring a saga
//
// A saga's state type embeds Progress (the engine's part: status, failure
// reason, each step's state) beside the saga's own data. Each Step has a
// Kind — Compensatable steps, then exactly one Pivot, then Retriable steps
// (Garcia-Molina & Salem) — and is either an activity step (its action on a
// task queue, its compensation, retry policy and timeouts, and typed
// bindings made with Bind / BindInput / Undo that build inputs from the
// state and record results into it) or a Gate that waits for an update.
// Validate states every rule a definition must follow; Run refuses an
// invalid one before running anything.
//
// # Guarantees
//
//   - Forward: steps run in order; a step marked WithPrevious starts with the
//     one before it, and the retriable steps after the pivot run
//     concurrently. Each step's action gets an idempotency key,
//     "<workflow ID>/<step name>", also given to its compensation: together
//     they form the service's barrier.
//   - Compensation: a business failure (a step's non-retryable error type),
//     a gate's timeout, a cancel before the pivot, or a Temporal
//     cancellation request compensates every step that completed — and
//     every step that ended without a definite answer (a timeout, a spent
//     retry budget) — in reverse order: a step's compensation starts once
//     the compensations of the later steps that depend on it (DependsOn)
//     have ended; independent ones run side by side. Compensation runs on a
//     disconnected context, so cancelling the workflow does not stop it.
//   - A compensation is retried until it succeeds or an operator resolves
//     it. Past CompensationPolicy.AlertAttempts failed attempts the saga
//     shows StatusFailed ("needs attention") and keeps retrying, at most
//     CompensationPolicy.MaxInterval apart.
//   - The pivot: once it starts, cancellation is refused (UpdateCancel) or
//     ignored (a Temporal cancellation) and the saga goes forward. A pivot
//     must be bounded in total (a retry budget or an attempt limit): when
//     it ends without an answer the saga compensates it too.
//   - Operators act on a stuck compensation with two updates:
//     UpdateRetryCompensation starts the next attempt at once;
//     UpdateResolveCompensation records who fixed its effect by hand and why
//     (Definition.Resolved may record it in a service), and the saga stops
//     retrying it. Both are refused unless the step is being compensated.
//   - QueryState answers the saga's state; the workflow returns it (a
//     canceled workflow carries it as its canceled error's details).
//   - The Web UI shows the saga's current details (status, steps in
//     progress, the saga's own paragraph) and each activity's summary
//     ("action <step>", "compensate <step>").
//   - Metrics (Definition.MetricPrefix + the Metric* names) are recorded
//     through the workflow's metrics handler, which records nothing during
//     replay.
//
// # Versioning
//
// A saga's workflow chooses its Definition by a revision recorded in its
// input, so a change to the table is a new revision and the histories of
// the older ones keep replaying. Engine changes made after a definition's
// histories were recorded are listed in its Markers and decided by
// workflow.GetVersion markers. Workers that run a saga's activities should
// install AttemptInterceptor, so a failed step reports the attempt it ended
// on.
package saga
