package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/ordersaga/ordersaga/workflows"
)

// Stamped by the build: go build -ldflags "-X main.version=v1.2.3 -X
// main.commit=abc1234" (task build does). Unstamped, they come from the
// module's build info (debug.ReadBuildInfo).
var (
	version = ""
	commit  = ""
)

// VersionCmd prints what this binary is.
type VersionCmd struct{}

// Run prints one line: version, commit, Go version, saga revision, build.
func (VersionCmd) Run(stdout io.Writer) error {
	v, c := buildVersion()
	_, err := fmt.Fprintf(stdout, "ordersaga %s (commit %s, %s, saga revision %d, %s build)\n", v, c, runtime.Version(), workflows.Revision, buildFlavor)
	return err
}

// buildVersion returns the stamped version and commit, else the build
// info's, else "devel" and "unknown".
func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	return or(v, "devel"), or(c, "unknown")
}
