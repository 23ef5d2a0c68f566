//go:build !slim

package main

// FullCommands are the commands only the full build has: they embed the
// Temporal server, its Web UI and the bench's charts. The slim production
// build (-tags slim) answers them with one line (cli_slim.go).
type FullCommands struct {
	Dev            DevCmd            `cmd:"" role:"" help:"Run everything in one process: embedded Temporal with its Web UI, all workers, the payment provider and the API."`
	TemporalServer TemporalServerCmd `cmd:"" role:"" help:"Run only the embedded Temporal server and its Web UI (the Temporal part of dev)."`
	Bench          BenchCmd          `cmd:"" help:"Drive sagas at a fixed rate or concurrency and report throughput, latency percentiles, errors and state transitions."`
}

// buildFlavor names this build in `ordersaga version`.
const buildFlavor = "full"
