//go:build slim

package main

import (
	"fmt"

	"github.com/alecthomas/kong"
)

// FullCommands, in the slim production build, refuse with one line: dev,
// temporal-server and bench embed the Temporal server, its Web UI and the
// bench's charts, which this build leaves out.
type FullCommands struct {
	Dev            fullOnly `cmd:"" help:"(full build only) Run everything in one process."`
	TemporalServer fullOnly `cmd:"" help:"(full build only) Run only the embedded Temporal server."`
	Bench          fullOnly `cmd:"" help:"(full build only) Drive sagas and report throughput and latency."`
}

// fullOnly takes any arguments and refuses to run.
type fullOnly struct {
	Args []string `arg:"" optional:"" passthrough:""`
}

// Run always fails, naming the build that has the command.
func (f *fullOnly) Run(kctx *kong.Context) error {
	name := kctx.Selected().Name
	return fmt.Errorf("%s is not in this slim production build: it is in the full build, `go run ./cmd/ordersaga %s` or `task build-full`", name, name)
}

// buildFlavor names this build in `ordersaga version`.
const buildFlavor = "slim"
